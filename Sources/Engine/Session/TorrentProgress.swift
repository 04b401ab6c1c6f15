/// What changed in one torrent since the previous flush.
package struct TorrentProgress: Hashable, Sendable {
    /// The torrent.
    package var torrentId: Int64
    /// Pieces whose verified bit changed: `true` once a piece's hash matched (its block mask is then
    /// dropped), `false` when a recheck found it bad.
    package var pieces: [PieceIndex: Bool]
    /// Block masks of unfinished pieces that changed. A mask with no bit set deletes the piece's record.
    package var blockMasks: [PieceIndex: Bitfield]
    /// Bytes to add to the lifetime counters (deltas since the previous flush, not totals).
    package var transferred: TransferTotals
    /// Sizes and modification times of files written since the previous flush, taken after those writes.
    package var fileStats: [FileStat]

    /// Creates a change set.
    package init(
        torrentId: Int64, pieces: [PieceIndex: Bool] = [:], blockMasks: [PieceIndex: Bitfield] = [:],
        transferred: TransferTotals = TransferTotals(), fileStats: [FileStat] = []
    ) {
        self.torrentId = torrentId
        self.pieces = pieces
        self.blockMasks = blockMasks
        self.transferred = transferred
        self.fileStats = fileStats
    }

    /// True when there is nothing to write.
    package var isEmpty: Bool { pieces.isEmpty && blockMasks.isEmpty && transferred.isZero && fileStats.isEmpty }
}
