import Engine

/// A torrent to add to the queue.
package struct NewTorrent: Sendable {
    /// The `.torrent` or the magnet link.
    package private(set) var source: TorrentSource
    /// The folder the data goes into (a multi-file torrent makes its own sub-folder inside it).
    package var saveDirectory: String
    /// Add it in the paused state instead of queued.
    package var paused: Bool
    /// Put it at the head of the queue instead of the tail.
    package var atTop: Bool
    /// The torrent's files, pad files not counted (0 for a magnet link), counted when it was described.
    package let fileCount: Int
    /// The entries of the torrent's file list, pad files included (0 for a magnet link).
    package let fileEntries: Int
    /// The file list as the store keeps it (``FileListBlob``), encoded when the parsed content was
    /// released (``releaseParsedContent()``; inner `nil`: too big to keep); `nil` before.
    private(set) var encodedFileList: [UInt8]??

    /// Describes a torrent to add.
    package init(source: TorrentSource, saveDirectory: String, paused: Bool = false, atTop: Bool = false) {
        self.source = source
        self.saveDirectory = saveDirectory
        self.paused = paused
        self.atTop = atTop
        if case .metainfo(let metainfo) = source {
            fileCount = metainfo.files.countWithoutPads
            fileEntries = metainfo.files.count
        } else {
            fileCount = 0
            fileEntries = 0
        }
    }

    /// Frees what parsing the `.torrent` built and adding it does not store: its file table and piece
    /// layers (the database keeps the `.torrent`'s bytes, and whoever needs those parses them again).
    /// The v1 piece hashes are dropped too, though that frees nothing: they are a slice of those bytes. For a large `.torrent` they take as much memory as its bytes, which the
    /// store holds while it writes them; `btq add` releases them before it opens the database. The
    /// source's metainfo is then only what ``TorrentAdder`` reads (names, counts, hashes, trackers,
    /// the bytes) and the file list encoded as the store keeps it (smaller than the table): nothing
    /// else may use it.
    package mutating func releaseParsedContent() {
        guard case .metainfo(var metainfo) = source else { return }
        encodedFileList = .some(FileListBlob.encodeIfSmall(metainfo.files))
        // Replaced, never changed in place: nothing is copied, and the old storage is freed once `source`
        // no longer holds it.
        metainfo.files = TorrentFiles()
        metainfo.pieceHashes = nil
        metainfo.pieceLayers = [:]
        source = .metainfo(metainfo)
    }

    /// The file list of `metainfo` (this torrent's) as the store keeps it.
    /// The file list of `metainfo` (this torrent's) as the store keeps it; `nil` when too big to keep.
    func fileListBytes(of metainfo: Metainfo) -> [UInt8]? {
        encodedFileList ?? FileListBlob.encodeIfSmall(metainfo.files)
    }
}
