/// What changed in one torrent since the previous flush.
public struct TorrentProgress: Hashable, Sendable {
    /// The torrent.
    public var torrentId: Int64
    /// Pieces whose verified bit changed: `true` once a piece's hash matched (its block mask is then
    /// dropped), `false` when a recheck found it bad.
    public var pieces: [PieceIndex: Bool]
    /// Block masks of unfinished pieces that changed. A mask with no bit set deletes the piece's record.
    public var blockMasks: [PieceIndex: Bitfield]
    /// Bytes to add to the lifetime counters (deltas since the previous flush, not totals).
    public var transferred: TransferTotals
    /// Sizes and modification times of files written since the previous flush, taken after those writes.
    public var fileStats: [FileStat]

    /// Creates a change set.
    public init(
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
    public var isEmpty: Bool { pieces.isEmpty && blockMasks.isEmpty && transferred.isZero && fileStats.isEmpty }
}
