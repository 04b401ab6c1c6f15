import NIOCore

/// What peers say, and what we ask of them: availability, interest, requests, blocks and cancels.
extension SessionSwarm {
    /// What the session does after a message, besides what the swarm did itself.
    enum Followup {
        /// Nothing more.
        case none
        /// A block the picker accepted: it goes to its piece's assembly.
        case block(BlockRequest, ByteBuffer)
        /// An extension protocol message (BEP 10), for the session's ``ExtensionProtocol``.
        case extended(id: UInt8, payload: ByteBuffer)
        /// A BEP 52 hash message (ids 21-23), for the session's hash exchange.
        case hashMessage(id: UInt8, payload: ByteBuffer)
        /// The peer became interested or lost interest: for the choker.
        case interestChanged
        /// The connection ends; nothing more is done for the message.
        case end(ReaderStep)
    }

    /// Handles one message from the peer at `key`: its state machine, the availability, the picker and
    /// the counters; answers what it can answer itself. Blocks are counted here, assembled by the session.
    mutating func received(_ message: PeerMessage, from key: PeerKey, now: ContinuousClock.Instant) -> Followup {
        // Taken out of the table while it changes, so its request sets are mutated in place
        // rather than copied (a copy per message is what the table's shared storage would cost), and
        // put back from one place, moved (from several, it was copied and the original destroyed).
        guard var slot = peers.take(key) else { return .end(.disconnect("gone")) }
        let (followup, availabilityChanged) = received(message, slot: &slot, now: now)
        peers.putBack(consume slot)
        // Interest only changes with the peer's availability (our own side is handled when pieces verify).
        if availabilityChanged { updateInterest(key) }
        return followup
    }

    /// ``received(_:from:now:)`` with the peer's slot out of the table; also says whether the peer's
    /// availability changed.
    private mutating func received(
        _ message: PeerMessage, slot: inout PeerSlot, now: ContinuousClock.Instant
    ) -> (Followup, availabilityChanged: Bool) {
        let key = slot.key
        slot.lastMessageAt = now
        let action = slot.machine.receive(message, now: NIODeadline.now())
        var followup = Followup.none
        var availabilityChanged = false
        switch action {
        case .none, .peerCancelled, .peerSuggestedPiece, .peerAllowedFast, .peerDHTPort, .peerUnchoked:
            break
        case .extended(let id, let payload):
            followup = .extended(id: id, payload: payload)
        case .peerInterested, .peerNotInterested:
            followup = .interestChanged
        case .peerRequested(let request):
            checkRequest(request, &slot)
        case .send(let reply):
            slot.send(reply)
        case .peerBitfield(let bitfield):
            availabilityChanged = true
            if bitfield.isFull {
                if peerBecameSeed(&slot) { return (.end(.disconnect("both seeds")), false) }
            } else {
                picker.addAvailability(bitfield.indices)
            }
        case .peerHasPiece(let piece):
            // One piece can only make us interested, and only when we want it: no scan of the others.
            if !slot.machine.amInterested, !picker.isComplete, picker.wants(piece),
                let message = slot.machine.setInterested(true)
            {
                slot.send(message)
            }
            if slot.isSeed {
                break
            }
            picker.addAvailability(piece)
            if slot.machine.peerPieces.isFull {
                // Became a seed: count it once instead of per piece.
                picker.removeAvailability(slot.machine.peerPieces.indices)
                if peerBecameSeed(&slot) { return (.end(.disconnect("both seeds")), false) }
            }
        case .peerChoked(let dropped):
            for request in dropped { picker.requestFailed(request, peer: key) }
        case .requestRejected(let request):
            picker.requestFailed(request, peer: key)
        case .blockReceived(let request, let block):
            let length = Int64(request.length)
            slot.lastBlockAt = now
            slot.pipeline.record(bytes: Int(length))
            slot.downloadedUnsaved += length
            slot.rates.download.add(length, at: now)
            slot.upload.downloadedInRound += length
            statistics.downloaded(length, at: now)
            let arrival = picker.blockReceived(request, from: key)
            if arrival.isAccepted {
                followup = .block(request, block)
            } else {
                statistics.wasted(length)
            }
            sendCancels(arrival.cancels)
        case .protocolViolation(let violation):
            return (.end(.misbehaved("protocol violation: \(violation)")), false)
        }
        if case .unknown(let id, let payload) = message, HashMessage.handles(id) {
            followup = .hashMessage(id: id, payload: payload)
        }
        return (followup, availabilityChanged)
    }

    /// Checks a request the state machine queued: only verified pieces, only inside the piece. A
    /// request that cannot be served is refused (a `reject request` under the Fast extension).
    func checkRequest(_ request: BlockRequest, _ slot: inout PeerSlot) {
        let end = Int(request.begin) + Int(request.length)
        guard picker.has(request.piece), end <= layout.length(of: request.piece) else {
            if let reject = slot.machine.refuse(request) { slot.send(reject) }
            return
        }
    }

    /// The peer has every piece now: it counts once as a seed (not per piece). Returns whether to drop
    /// it because we seed too: two seeds have nothing to say to each other.
    mutating func peerBecameSeed(_ slot: inout PeerSlot) -> Bool {
        slot.isSeed = true
        picker.addSeed()
        candidates[slot.address]?.isSeed = true
        guard picker.isComplete else { return false }
        picker.removeSeed()
        slot.availabilityWithdrawn = true  // not taken from the availability again when it closes
        return true
    }

    /// Sends `cancel` for requests the picker took back (another peer delivered the block first).
    mutating func sendCancels(_ cancels: [PeerBlockRequest]) {
        for cancel in cancels {
            guard var slot = peers.take(cancel.peer) else { continue }
            if let message = slot.machine.cancel(cancel.request) {
                slot.send([message])
            }
            peers.putBack(consume slot)
        }
    }

    /// Sends `interested` / `not interested` when our interest in the peer's pieces changed.
    mutating func updateInterest(_ key: PeerKey) {
        // Read what is needed in place: the table's getter would copy the whole slot, and a live copy
        // would make the mutation below copy the slot's request sets.
        guard
            let (pieces, isSeed, interested) = peers.withSlot(
                key,
                { slot in slot.handshaken ? (slot.machine.peerPieces, slot.isSeed, slot.machine.amInterested) : nil })
                ?? nil
        else { return }
        let wanted = !picker.isComplete && (isSeed || picker.isInterested(in: { pieces.contains($0) }))
        guard wanted != interested, var slot = peers.take(key) else { return }
        if let message = slot.machine.setInterested(wanted) { slot.send([message]) }
        peers.putBack(consume slot)
    }

    /// Tops up the peer's request queue to its pipeline depth, within the download limits (no new
    /// requests while they are in debt; about half a second of the limit in flight), starting no new
    /// piece once `maxPiecesInProgress` are in progress (see ``PieceMemoryBudget``).
    mutating func fillRequests(_ key: PeerKey, limits: TransferLimits, maxPiecesInProgress: Int = .max) {
        guard
            let (outstanding, targetDepth, pieces, isSeed) = peers.withSlot(
                key,
                { slot in
                    slot.handshaken && slot.machine.amInterested && !slot.machine.peerChoking
                        ? (
                            slot.machine.outstandingRequests.count, slot.requestDepth, slot.machine.peerPieces,
                            slot.isSeed
                        ) : nil
                }) ?? nil
        else { return }
        guard !limits.downloadInDebt else { return }
        let room = max(0, Self.limitedDepth(targetDepth, rate: limits.downloadRate) - outstanding)
        // Refill in batches: one pick and one write for several blocks.
        guard room >= min(32, targetDepth / 4) || outstanding == 0 else { return }
        let newPieces = max(0, maxPiecesInProgress - picker.piecesInProgressCount)
        let picks = picker.pickBlocks(for: key, count: room, newPieces: newPieces) { isSeed || pieces.contains($0) }
        guard !picks.isEmpty, var slot = peers.take(key) else { return }
        var messages: [PeerMessage] = []
        let now = NIODeadline.now()
        for request in picks {
            if let message = slot.machine.request(request, now: now) {
                messages.append(message)
            } else {
                picker.requestFailed(request, peer: key)
            }
        }
        slot.send(messages)
        peers.putBack(consume slot)
    }

    /// Tops up every peer's request queue.
    mutating func fillAllRequests(limits: TransferLimits, maxPiecesInProgress: Int = .max) {
        for key in peers.keys { fillRequests(key, limits: limits, maxPiecesInProgress: maxPiecesInProgress) }
    }

    /// The request depth for a peer under a download limit of `rate` bytes a second (0: none): about
    /// half a second of the limit, so what is in flight stays close to what the limit lets in.
    static func limitedDepth(_ depth: Int, rate: Int) -> Int {
        guard rate > 0 else { return depth }
        return min(depth, max(4, rate / 2 / PieceLayout.blockSize))
    }

    // MARK: Verified and failed pieces

    /// A piece passed its check: the peers that sent its blocks are credited, requests for it elsewhere
    /// cancelled, and every peer told but seeds (they have it: a `have` per piece to a seed is a write
    /// to its socket for nothing); once the torrent is complete, interest is withdrawn.
    mutating func piecePassed(_ piece: PieceIndex) {
        for key in Set((picker.blockStates(of: piece) ?? []).compactMap(\.source)) {
            if let address = peers[key]?.address { candidates.piecePassed(from: address) }
        }
        sendCancels(picker.pieceVerified(piece))
        for slot in peers.values where slot.handshaken && !slot.isSeed {
            slot.send([PeerMessage.have(piece)])
        }
        if picker.isComplete {
            for key in peers.keys { updateInterest(key) }
        }
    }

    /// The address of the peer that sent each block of `piece`, by block index (peers still connected).
    func senders(of piece: PieceIndex) -> [Int: PeerAddress] {
        var senders: [Int: PeerAddress] = [:]
        for (index, state) in (picker.blockStates(of: piece) ?? []).enumerated() {
            if let key = state.source, let address = peers[key]?.address { senders[index] = address }
        }
        return senders
    }
}
