/// Going back to a checkpoint when a sync fails (DESIGN.md, persistence invariant 3).
///
/// Linux reports a failed write-back once, to the next `fdatasync`, and may drop the pages it could not
/// write: after a failed sync, nothing written since the last good checkpoint is known to be on disk,
/// and no later sync can tell. The journal must then stop vouching for it, without forgetting that the
/// data may well be there.
extension DurableCheckpoint {
    /// What the journal records instead of its latest view when a sync after this checkpoint failed.
    struct Rollback: Hashable, Sendable {
        /// Pieces to record as not verified: verified since the checkpoint.
        var unverified: [PieceIndex]
        /// Block masks to record, by piece (an empty mask deletes a piece's mask).
        var masks: [PieceIndex: Bitfield]
        /// The journal's view once recorded: verified pieces and non-empty block masks.
        var verified: Bitfield
        /// The journal's block masks once recorded (the checkpoint's, and a full one per unverified piece).
        var journaledMasks: [PieceIndex: Bitfield]

        /// True when the latest view is the checkpoint's: nothing to take back.
        var isEmpty: Bool { unverified.isEmpty && masks.isEmpty }
    }

    /// The rollback from the journal's latest view (`verified`, `masks`) to this checkpoint.
    ///
    /// A piece verified since the checkpoint is recorded as unverified with all its blocks written: the
    /// next start hashes it from the files and keeps it only if its bytes are there (a full mask is never
    /// taken for more than a reason to hash). Blocks of unfinished pieces go back to the checkpoint's
    /// masks: blocks recorded since are fetched again.
    func rollback(verified latest: Bitfield, masks latestMasks: [PieceIndex: Bitfield], layout: PieceLayout) -> Rollback
    {
        var unverified: [PieceIndex] = []
        var target = blockMasks.filter { !$0.value.isNone }
        for index in latest.setIndices where !(index < verified.count && verified.contains(index)) {
            let piece = PieceIndex(index)
            unverified.append(piece)
            target[piece] = Bitfield(count: layout.blockCount(in: piece), allSet: true)
        }
        var changes: [PieceIndex: Bitfield] = [:]
        for (piece, mask) in latestMasks where target[piece] == nil && !mask.isNone {
            changes[piece] = Bitfield(count: mask.count)
        }
        for (piece, mask) in target where latestMasks[piece] != mask && !latest.contains(piece.value) {
            changes[piece] = mask
        }
        for piece in unverified { changes[piece] = target[piece] }
        var kept = latest
        for piece in unverified { kept.clear(piece.value) }
        return Rollback(unverified: unverified, masks: changes, verified: kept, journaledMasks: target)
    }
}
