/// Everything the database knows about a torrent's progress, loaded once when the torrent starts.
///
/// Two views of the progress are kept (DESIGN.md, persistence invariant 3): the latest one (``verified``,
/// ``blockMasks``) and the one as of the last durable checkpoint (``durableVerified``,
/// ``durableBlockMasks``), whose data files were synced before it was recorded. After a power loss the
/// engine trusts only the durable view and rechecks the pieces verified since.
package struct ResumeState: Hashable, Sendable {
    /// The torrent.
    package var torrentId: Int64
    /// Verified pieces (`count` is the torrent's piece count; zero for a magnet without metadata).
    package var verified: Bitfield
    /// Verified pieces as of the last durable checkpoint, or `nil` before the first checkpoint.
    package var durableVerified: Bitfield?
    /// Finished blocks of unfinished pieces; pieces with no finished block are absent.
    package var blockMasks: [PieceIndex: Bitfield]
    /// Finished blocks as of the last durable checkpoint (only pieces that had any then).
    package var durableBlockMasks: [PieceIndex: Bitfield]
    /// When the snapshot of the last durable checkpoint was taken (before its sync): progress recorded
    /// from then on is not vouched for by it.
    package var checkpointAt: Timestamp?
    /// When verified pieces or block masks were last recorded (`nil` when never).
    package var recordedAt: Timestamp?
    /// Recorded sizes and modification times, for the files that have a record.
    package var files: [FileStat]
    /// Lifetime byte counters.
    package var totals: TransferTotals

    /// Creates a resume state.
    package init(
        torrentId: Int64, verified: Bitfield, durableVerified: Bitfield? = nil,
        blockMasks: [PieceIndex: Bitfield] = [:], durableBlockMasks: [PieceIndex: Bitfield] = [:],
        checkpointAt: Timestamp? = nil, recordedAt: Timestamp? = nil, files: [FileStat] = [],
        totals: TransferTotals = TransferTotals()
    ) {
        self.torrentId = torrentId
        self.verified = verified
        self.durableVerified = durableVerified
        self.blockMasks = blockMasks
        self.durableBlockMasks = durableBlockMasks
        self.checkpointAt = checkpointAt
        self.recordedAt = recordedAt
        self.files = files
        self.totals = totals
    }
}
