import Engine
import Store

extension TorrentRecord {
    /// The name as the terminal shows it: without control characters (see ``TerminalText``).
    var shownName: String { TerminalText.clean(name) }
}
