/// The progress of one torrent that a durable checkpoint vouches for: everything in it was journaled,
/// and its data files were synced afterwards.
package struct DurableCheckpoint: Hashable, Sendable {
    /// The torrent.
    package var torrentId: Int64
    /// Verified pieces, as journaled before the sync.
    package var verified: Bitfield
    /// Finished blocks of unfinished pieces, as journaled before the sync.
    package var blockMasks: [PieceIndex: Bitfield]

    /// Creates a checkpoint.
    package init(torrentId: Int64, verified: Bitfield, blockMasks: [PieceIndex: Bitfield] = [:]) {
        self.torrentId = torrentId
        self.verified = verified
        self.blockMasks = blockMasks
    }
}
