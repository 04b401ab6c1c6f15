import NIOCore

extension TorrentSession {
    /// Handles the frames of one socket read, in order, and returns what the reader must do besides
    /// reading on: writes of blocks that bypass the in-memory assembly, or a disconnect (last).
    func received(_ frames: [PeerWireFrame], from key: PeerKey) -> [ReaderStep] {
        // Stopping: what peers still say is read (so that closing never resets a connection whose last
        // bytes are on their way to the peer) and not answered.
        guard !lifecycle.closingPeers else { return [] }
        var steps: [ReaderStep] = []
        for frame in frames {
            guard case .message(let message) = frame else {
                steps.append(.misbehaved("a second handshake"))
                return steps
            }
            let step = received(message, from: key)
            switch step {
            case .proceed:
                continue
            case .disconnect, .misbehaved:
                steps.append(step)
                return steps
            case .write:
                steps.append(step)
            }
        }
        return steps
    }

    /// Handles one message from a peer and says what its reader does next.
    func received(_ message: PeerMessage, from key: PeerKey) -> ReaderStep {
        // Taken out of the table while it changes, so its request sets are mutated in place
        // rather than copied (a copy per message is what the table's shared storage would cost).
        guard var slot = peers.take(key) else { return .disconnect("gone") }
        let now = ContinuousClock.now
        slot.lastMessageAt = now
        let action = slot.machine.receive(message, now: NIODeadline.now())
        var step = ReaderStep.proceed
        var availabilityChanged = false
        var interestChanged = false
        switch action {
        case .none, .peerCancelled, .peerSuggestedPiece, .peerAllowedFast, .peerDHTPort:
            break
        case .extended(let id, let payload):
            step = receivedExtended(id: id, payload: payload, slot: &slot)
        case .peerInterested, .peerNotInterested:
            interestChanged = true
        case .peerRequested(let request):
            checkRequest(request, &slot)
        case .send(let reply):
            slot.send(reply)
        case .peerBitfield(let bitfield):
            availabilityChanged = true
            if bitfield.isFull {
                if peerBecameSeed(&slot) {
                    peers.putBack(slot)
                    return .disconnect("both seeds")
                }
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
                if peerBecameSeed(&slot) {
                    peers.putBack(slot)
                    return .disconnect("both seeds")
                }
            }
        case .peerChoked(let dropped):
            for request in dropped { picker.requestFailed(request, peer: key) }
        case .peerUnchoked:
            break
        case .requestRejected(let request):
            picker.requestFailed(request, peer: key)
        case .blockReceived(let request, let block):
            let length = Int64(request.length)
            slot.lastBlockAt = now
            slot.pipeline.record(bytes: Int(length))
            slot.downloadedUnsaved += length
            slot.upload.downloadedInRound += length
            statistics.downloaded(length, at: now)
            persistence.journal.unsavedTotals.downloaded += length
            let arrival = picker.blockReceived(request, from: key)
            if arrival.isAccepted {
                step = assemble(request, block)
            } else {
                statistics.wasted(length)
                persistence.journal.unsavedTotals.wasted += length
            }
            sendCancels(arrival.cancels)
        case .protocolViolation(let violation):
            peers.putBack(slot)
            return .misbehaved("protocol violation: \(violation)")
        }
        peers.putBack(slot)
        // Interest only changes with the peer's availability (our own side is handled when pieces verify).
        if availabilityChanged { updateInterest(key) }
        if interestChanged { peerInterestChanged(key) }
        startServing(key)
        fillRequests(key)
        return step
    }

    /// The peer has every piece now: it counts once as a seed (not per piece). Returns whether to drop
    /// it because we seed too: two seeds have nothing to say to each other.
    private func peerBecameSeed(_ slot: inout PeerSlot) -> Bool {
        slot.isSeed = true
        picker.addSeed()
        candidates[slot.address]?.isSeed = true
        guard picker.isComplete else { return false }
        picker.removeSeed()
        slot.handshaken = false  // not counted as a seed again when it closes
        return true
    }

    /// Adds an accepted block to its piece's assembly, or sends it straight to disk when memory for
    /// assemblies is used up.
    private func assemble(_ request: BlockRequest, _ block: ByteBuffer) -> ReaderStep {
        switch verification.assemblies.add(request, block: block, epoch: persistence.epoch) {
        case .writeDirect:
            return .write(request, Array(block.readableBytesView))
        case .kept, .ignored:
            return .proceed
        case .complete(let buffer):
            store(request.piece, buffer)
            return .proceed
        }
    }

    /// Hashes a whole piece from memory and writes it when it matches, off this actor and off the peer's
    /// reader, so reading goes on meanwhile. Its bytes count against the assemblies' limit until written.
    private func store(_ piece: PieceIndex, _ buffer: PieceBuffer) {
        let expected = metainfo.pieceHashes.map { Array(PieceHasher.expected(piece, in: $0)) } ?? []
        let storage = self.storage
        let watched = verification.smartBan.isWatching(piece)
        Task {
            let matches: Bool
            do {
                matches = try await storage.writeIfVerified(piece: piece, from: buffer, expected: expected)
            } catch {
                self.recycle(buffer)
                self.pieceStoreFailed(piece, error: error)
                return
            }
            // Block digests for smart ban: of a failed piece, and of a watched piece that passed.
            let digests =
                !matches || watched ? SmartBan.digests(of: buffer.readable, blockLength: PieceLayout.blockSize) : nil
            self.recycle(buffer)
            self.pieceStored(piece, matches: matches, digests: digests)
        }
    }

    /// A store ended: its buffer is kept for the next assembly while pieces remain to be fetched, and who
    /// waits for the stores is told when none is left.
    private func recycle(_ buffer: PieceBuffer) {
        verification.stored(buffer, keepSpare: !picker.isComplete)
    }

    /// An assembled piece was hashed, and written when it matched.
    func pieceStored(_ piece: PieceIndex, matches: Bool, digests: [[UInt8]]? = nil) {
        for request in layout.requests(in: piece) { _ = picker.blockWritten(request) }
        pieceChecked(piece, matches: matches, digests: digests)
    }

    /// Writing an assembled piece failed: the torrent cannot go on.
    func pieceStoreFailed(_ piece: PieceIndex, error: any Error) {
        for request in layout.requests(in: piece) { picker.blockWriteFailed(request) }
        fail("cannot write to disk: \(error)")
    }

    /// Returns once no assembled piece is being hashed or written.
    func waitForStores() async {
        while verification.assemblies.storesInFlight > 0 {
            await withCheckedContinuation { verification.waitForStores($0) }
        }
    }

    /// A block is on disk: hash its piece when that was the last block.
    func blockWritten(_ request: BlockRequest, from key: PeerKey) {
        if picker.blockWritten(request) {
            startHashing(request.piece)
        }
        fillRequests(key)
    }

    /// The disk refused a block: the torrent cannot go on (disk full, permissions...).
    func blockWriteFailed(_ request: BlockRequest, error: any Error) {
        picker.blockWriteFailed(request)
        fail("cannot write to disk: \(error)")
    }

    private func startHashing(_ piece: PieceIndex) {
        guard verification.startHashing(piece), let hashes = metainfo.pieceHashes else { return }
        let expected = hashes[(piece.value * 20)..<(piece.value * 20 + 20)]
        let storage = self.storage
        Task {
            let matches: Bool
            do {
                matches = try await storage.verifyPiece(piece, expected: expected)
            } catch {
                self.hashReadFailed(piece, error: error)
                return
            }
            self.pieceChecked(piece, matches: matches)
        }
    }

    private func hashReadFailed(_ piece: PieceIndex, error: any Error) {
        verification.hashingEnded(piece)
        _ = picker.pieceFailed(piece)
        fail("cannot read back piece \(piece): \(error)")
    }

    /// A piece's hash is known: mark it verified and announce it, or throw it away and blame its senders.
    func pieceChecked(_ piece: PieceIndex, matches: Bool, digests: [[UInt8]]? = nil) {
        verification.hashingEnded(piece)
        verification.assemblies.pieceChecked(piece)
        if matches {
            for key in Set((picker.blockStates(of: piece) ?? []).compactMap(\.source)) {
                if let address = peers[key]?.address { candidates.piecePassed(from: address) }
            }
            if let digests, let verdict = verification.smartBan.piecePassed(piece, digests: digests) {
                judge(verdict)
            }
            let cancels = picker.pieceVerified(piece)
            sendCancels(cancels)
            persistence.journal.unsavedPieces[piece] = true
            for slot in peers.values where slot.handshaken {
                slot.send([PeerMessage.have(piece)])
            }
            if picker.isComplete {
                verification.assemblies.dropSpares()
                for key in peers.keys { updateInterest(key) }
                wakeLoop()
            }
        } else {
            let length = Int64(layout.length(of: piece))
            statistics.wasted(length)
            persistence.journal.unsavedTotals.wasted += length
            if let digests {
                var senders: [Int: PeerAddress] = [:]
                for (index, state) in (picker.blockStates(of: piece) ?? []).enumerated() {
                    if let key = state.source, let address = peers[key]?.address { senders[index] = address }
                }
                let share = 1 / Double(max(Set(senders.values).count, 1))
                verification.smartBan.pieceFailed(piece, senders: senders, digests: digests, share: share)
            }
            let senders = picker.pieceFailed(piece)
            logger.info("piece \(piece) failed its hash check (sent by \(senders.count) peer(s))")
            for key in senders { blame(key, senders: senders.count) }
        }
        for key in peers.keys { fillRequests(key) }
    }

    /// Counts a hash failure against one of the `senders` peers of a bad piece, and bans it when it is
    /// clearly the culprit (see ``PeerCandidateTable/blame(_:source:senders:threshold:)``).
    private func blame(_ key: PeerKey, senders: Int) {
        guard let (address, source) = peers[key].map({ ($0.address, $0.source) }) else { return }
        peers[key]?.hashFailuresUnsaved += 1
        let blame = candidates.blame(
            address, source: source, senders: senders, threshold: configuration.hashFailuresToBan)
        if blame.deservesBan { ban(key, because: "after \(blame.hashFailures) hash failure(s)") }
    }

    /// Bans the peer at `key`: its address is never dialled again, its peer id never let in, and it is
    /// disconnected.
    private func ban(_ key: PeerKey, because reason: String) {
        guard let slot = peers[key] else { return }
        candidates.ban(slot.address, source: slot.source)
        if let peerId = slot.peerId { seeding.bannedPeerIds.insert(peerId) }
        logger.info("banning \(slot.address) \(reason)")
        recordPeer(slot, banned: true)
        // Its counters are in the journal now: the record when it closes must not count them again.
        peers[key]?.countersRecorded()
        slot.channel.close(promise: nil)
    }

    /// Acts on what smart ban found once a piece that failed passed: a peer whose block differed lied
    /// (banned, or never dialled again when it is gone); a peer whose blocks matched gets back the blame
    /// it took for the failure.
    private func judge(_ verdict: SmartBan.Verdict) {
        for address in verdict.liars {
            if let key = peers.key(of: address) {
                ban(key, because: "for sending a block that differs from the verified piece")
            } else {
                candidates[address]?.banned = true
            }
        }
        candidates.clear(verdict.cleared, share: verdict.share)
    }

    private func sendCancels(_ cancels: [PeerBlockRequest]) {
        for cancel in cancels {
            guard var slot = peers.take(cancel.peer) else { continue }
            if let message = slot.machine.cancel(cancel.request) {
                slot.send([message])
            }
            peers.putBack(slot)
        }
    }

    /// Sends `interested` / `not interested` when our interest in the peer's pieces changed.
    func updateInterest(_ key: PeerKey) {
        // Read what is needed without keeping a copy of the slot: a live copy would make the mutation
        // below copy the slot's request sets.
        guard
            let (pieces, isSeed, interested) = peers[key].flatMap({ slot in
                slot.handshaken ? (slot.machine.peerPieces, slot.isSeed, slot.machine.amInterested) : nil
            })
        else { return }
        let wanted = !picker.isComplete && (isSeed || picker.isInterested(in: { pieces.contains($0) }))
        guard wanted != interested, var slot = peers.take(key) else { return }
        if let message = slot.machine.setInterested(wanted) { slot.send([message]) }
        peers.putBack(slot)
    }

    /// Tops up the peer's request queue to its pipeline depth.
    func fillRequests(_ key: PeerKey) {
        guard
            let (outstanding, targetDepth, pieces, isSeed) = peers[key].flatMap({ slot in
                slot.handshaken && slot.machine.amInterested && !slot.machine.peerChoking
                    ? (
                        slot.machine.outstandingRequests.count, slot.requestDepth, slot.machine.peerPieces,
                        slot.isSeed
                    ) : nil
            })
        else { return }
        guard !limits.downloadInDebt else { return }
        let room = max(0, limitedDepth(targetDepth) - outstanding)
        // Refill in batches: one pick and one write for several blocks.
        guard room >= min(32, targetDepth / 4) || outstanding == 0 else { return }
        let picks = picker.pickBlocks(for: key, count: room) { isSeed || pieces.contains($0) }
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
        peers.putBack(slot)
    }
}
