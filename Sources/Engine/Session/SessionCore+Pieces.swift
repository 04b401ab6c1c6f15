/// Pieces on their way to verified: blocks written, assembled pieces stored, hashes known, and the
/// peers that sent bad data blamed and banned.
extension SessionCore {
    /// An assembled piece was hashed, and written when it matched (``PieceHashing/store(_:from:watched:)``);
    /// its buffer is kept for the next assembly while pieces remain to be fetched.
    mutating func pieceStored(
        _ piece: PieceIndex, _ buffer: PieceBuffer, _ outcome: PieceHashing.Outcome, effects: inout SessionEffects
    ) {
        pieceStored(piece, buffer, outcome, refill: true, effects: &effects)
    }

    /// A batch of small pieces was stored (``PieceHashing/store(_:)``): each as
    /// ``pieceStored(_:_:_:effects:)``, with the requests topped up once for the batch.
    mutating func piecesStored(
        _ batch: [PieceStoreBatches.Store], _ outcomes: [PieceHashing.Outcome], effects: inout SessionEffects
    ) {
        for (store, outcome) in zip(batch, outcomes) {
            pieceStored(store.piece, store.buffer, outcome, refill: false, effects: &effects)
        }
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
    }

    private mutating func pieceStored(
        _ piece: PieceIndex, _ buffer: PieceBuffer, _ outcome: PieceHashing.Outcome, refill: Bool,
        effects: inout SessionEffects
    ) {
        verification.stored(buffer, keepSpare: !swarm.picker.isComplete)
        switch outcome {
        case .checked(let matches, let digests):
            for request in layout.requests(in: piece) { _ = swarm.picker.blockWritten(request) }
            pieceChecked(piece, matches: matches, digests: digests, refill: refill, effects: &effects)
        case .merkleFailed(let failure):
            for request in layout.requests(in: piece) { _ = swarm.picker.blockWritten(request) }
            if !checkBlocks(ofFailed: piece, failure, effects: &effects) {
                pieceChecked(piece, matches: false, digests: failure.digests, refill: refill, effects: &effects)
            }
        case .failed(let error):
            for request in layout.requests(in: piece) { swarm.picker.blockWriteFailed(request) }
            effects.failure = "cannot write to disk: \(error)"
        }
    }

    /// A block the peer at `key` sent is on disk: its piece is hashed when that was the last block.
    mutating func blockWritten(_ request: BlockRequest, from key: PeerKey, effects: inout SessionEffects) {
        if swarm.picker.blockWritten(request), verification.startHashing(request.piece) {
            effects.hash.append(request.piece)
        }
        swarm.fillRequests(key, limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
    }

    /// The disk refused a block: the torrent cannot go on (disk full, permissions...).
    mutating func blockWriteFailed(_ request: BlockRequest, error: any Error, effects: inout SessionEffects) {
        swarm.picker.blockWriteFailed(request)
        effects.failure = "cannot write to disk: \(error)"
    }

    /// A piece written block by block was read back and hashed (``PieceHashing/check(_:)``).
    mutating func pieceHashed(_ piece: PieceIndex, _ outcome: PieceHashing.Outcome, effects: inout SessionEffects) {
        switch outcome {
        case .checked(let matches, _):
            pieceChecked(piece, matches: matches, digests: nil, effects: &effects)
        case .merkleFailed(let failure):
            pieceChecked(piece, matches: false, digests: failure.digests, effects: &effects)
        case .failed(let error):
            verification.hashingEnded(piece)
            _ = swarm.picker.pieceFailed(piece)
            effects.failure = "cannot read back piece \(piece): \(error)"
        }
    }

    /// A piece's hash is known: it is verified and announced, or thrown away and its senders blamed
    /// (see ``PieceVerification/checked(_:matches:digests:swarm:banAfter:)``); the requests are topped
    /// up unless `refill` is false (the caller does it once for several pieces).
    mutating func pieceChecked(
        _ piece: PieceIndex, matches: Bool, digests: [[UInt8]]?, refill: Bool = true, effects: inout SessionEffects
    ) {
        blockChecks.pieceChecked(piece)
        let verdict = verification.checked(
            piece, matches: matches, digests: digests, swarm: &swarm, banAfter: configuration.hashFailuresToBan)
        if matches {
            effects.verified.append(piece)
        } else {
            logger.info("piece \(piece) failed its hash check (sent by \(verdict.senders) peer(s))")
            webSeedsSentFailedPiece(piece, senders: verdict.senderKeys, effects: &effects)
        }
        for (key, reason) in verdict.bans { ban(key, because: reason, effects: &effects) }
        if verdict.completed { effects.wake = true }
        if refill { swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress) }
    }

    /// Bans the peer at `key`: its address is never dialled again, its peer id never let in, and it is
    /// disconnected. Its record (with its counters) goes to the journal.
    mutating func ban(_ key: PeerKey, because reason: String, effects: inout SessionEffects) {
        guard let slot = swarm.peers[key] else { return }
        swarm.candidates.ban(slot.address, source: slot.source)
        if let peerId = slot.peerId { uploads.bannedPeerIds.insert(peerId) }
        logger.info("banning \(slot.address) \(reason)")
        effects.banned.append(slot)
        // Its counters are in the journal now: the record when it closes must not count them again.
        swarm.peers[key]?.countersRecorded()
        slot.channel.close(promise: nil)
    }

    /// Addresses banned for sending data that failed its hash check.
    var bannedAddresses: [PeerAddress] {
        swarm.candidates.values.filter(\.banned).map(\.address).sorted { $0.description < $1.description }
    }
}
