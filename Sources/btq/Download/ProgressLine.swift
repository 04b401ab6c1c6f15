import Engine
import Foundation

/// The live progress line of `btq get`: rewritten in place on a terminal, a line every few seconds otherwise.
struct ProgressLine {
    let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastPrinted = Date.distantPast
    private var lastWidth = 0

    /// A magnet link's metadata fetch.
    mutating func show(name: String, fetching status: MetadataFetcher.Status, final: Bool = false) {
        var text = "\(Table.shorten(name, to: 40))  fetching metadata  peers \(status.peers)/\(status.knownPeers)"
        if status.pieceCount > 0 { text += "  pieces \(status.piecesDone)/\(status.pieceCount)" }
        write(text, final: final)
    }

    /// What the queue manager says a torrent is doing.
    mutating func show(name: String, _ progress: QueueProgress, final: Bool = false) {
        switch progress {
        case .fetching(let status?): show(name: name, fetching: status, final: final)
        case .fetching(nil): write("\(Table.shorten(name, to: 40))  fetching metadata", final: final)
        case .transferring(let status): show(name: name, status, final: final)
        }
    }

    /// A line of its own on standard error, clearing the progress line first on a terminal.
    static func say(_ text: String) {
        let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data((clear + text + "\n").utf8))
    }

    mutating func show(name: String, _ status: TorrentStatus, final: Bool = false) {
        var text = "\(Table.shorten(name, to: 40))  \(Formatting.percent(status.progress))"
        text += "  \(Formatting.size(status.bytesDone))/\(Formatting.size(status.bytesWanted))"
        text += "  \(Formatting.size(Int64(status.downloadRate)))/s"
        if status.uploadRate >= 1 { text += "  up \(Formatting.size(Int64(status.uploadRate)))/s" }
        if let eta = status.eta { text += "  ETA \(Self.duration(eta))" }
        text += "  peers \(status.peers)/\(status.knownPeers)"
        if status.wasted > 0 { text += "  wasted \(Formatting.size(status.wasted))" }
        write(text, final: final)
    }

    private mutating func write(_ text: String, final: Bool) {
        let now = Date()
        guard final || isTerminal || now.timeIntervalSince(lastPrinted) >= 5 else { return }
        lastPrinted = now
        if isTerminal {
            let padding = String(repeating: " ", count: max(0, lastWidth - text.count))
            lastWidth = text.count
            FileHandle.standardError.write(Data(("\r" + text + padding + (final ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60) }
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}
