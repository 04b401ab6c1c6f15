/// A torrent to add to the queue.
package struct NewTorrent: Sendable {
    /// The `.torrent` or the magnet link.
    package var source: TorrentSource
    /// The folder the data goes into (a multi-file torrent makes its own sub-folder inside it).
    package var saveDirectory: String
    /// Add it in the paused state instead of queued.
    package var paused: Bool
    /// Put it at the head of the queue instead of the tail.
    package var atTop: Bool

    /// Describes a torrent to add.
    package init(source: TorrentSource, saveDirectory: String, paused: Bool = false, atTop: Bool = false) {
        self.source = source
        self.saveDirectory = saveDirectory
        self.paused = paused
        self.atTop = atTop
    }
}
