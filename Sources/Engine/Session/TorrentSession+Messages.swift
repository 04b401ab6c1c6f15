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
        var step = ReaderStep.proceed
        switch swarm.received(message, from: key, now: .now) {
        case .none:
            break
        case .block(let request, let block):
            step = assemble(request, block)
        case .extended(let id, let payload):
            step = receivedExtended(id: id, payload: payload, from: key)
        case .interestChanged:
            peerInterestChanged(key)
        case .end(let last):
            return last
        }
        startServing(key)
        swarm.fillRequests(key, limits: limits)
        return step
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
        verification.stored(buffer, keepSpare: !swarm.picker.isComplete)
    }

    /// An assembled piece was hashed, and written when it matched.
    func pieceStored(_ piece: PieceIndex, matches: Bool, digests: [[UInt8]]? = nil) {
        for request in layout.requests(in: piece) { _ = swarm.picker.blockWritten(request) }
        pieceChecked(piece, matches: matches, digests: digests)
    }

    /// Writing an assembled piece failed: the torrent cannot go on.
    func pieceStoreFailed(_ piece: PieceIndex, error: any Error) {
        for request in layout.requests(in: piece) { swarm.picker.blockWriteFailed(request) }
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
        if swarm.picker.blockWritten(request) {
            startHashing(request.piece)
        }
        swarm.fillRequests(key, limits: limits)
    }

    /// The disk refused a block: the torrent cannot go on (disk full, permissions...).
    func blockWriteFailed(_ request: BlockRequest, error: any Error) {
        swarm.picker.blockWriteFailed(request)
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
        _ = swarm.picker.pieceFailed(piece)
        fail("cannot read back piece \(piece): \(error)")
    }

    /// A piece's hash is known: mark it verified and announce it, or throw it away and blame its senders.
    func pieceChecked(_ piece: PieceIndex, matches: Bool, digests: [[UInt8]]? = nil) {
        verification.hashingEnded(piece)
        verification.assemblies.pieceChecked(piece)
        if matches {
            if let digests, let verdict = verification.smartBan.piecePassed(piece, digests: digests) {
                judge(verdict)
            }
            swarm.piecePassed(piece)
            persistence.journal.unsavedPieces[piece] = true
            if swarm.picker.isComplete {
                verification.assemblies.dropSpares()
                wakeLoop()
            }
        } else {
            swarm.statistics.wasted(Int64(layout.length(of: piece)))
            if let digests {
                let senders = swarm.senders(of: piece)
                let share = 1 / Double(max(Set(senders.values).count, 1))
                verification.smartBan.pieceFailed(piece, senders: senders, digests: digests, share: share)
            }
            let senders = swarm.picker.pieceFailed(piece)
            logger.info("piece \(piece) failed its hash check (sent by \(senders.count) peer(s))")
            for key in senders { blame(key, senders: senders.count) }
        }
        swarm.fillAllRequests(limits: limits)
    }

    /// Counts a hash failure against one of the `senders` peers of a bad piece, and bans it when it is
    /// clearly the culprit (see ``PeerCandidateTable/blame(_:source:senders:threshold:)``).
    private func blame(_ key: PeerKey, senders: Int) {
        guard let (address, source) = swarm.peers[key].map({ ($0.address, $0.source) }) else { return }
        swarm.peers[key]?.hashFailuresUnsaved += 1
        let blame = swarm.candidates.blame(
            address, source: source, senders: senders, threshold: configuration.hashFailuresToBan)
        if blame.deservesBan { ban(key, because: "after \(blame.hashFailures) hash failure(s)") }
    }

    /// Bans the peer at `key`: its address is never dialled again, its peer id never let in, and it is
    /// disconnected.
    private func ban(_ key: PeerKey, because reason: String) {
        guard let slot = swarm.peers[key] else { return }
        swarm.candidates.ban(slot.address, source: slot.source)
        if let peerId = slot.peerId { seeding.bannedPeerIds.insert(peerId) }
        logger.info("banning \(slot.address) \(reason)")
        recordPeer(slot, banned: true)
        // Its counters are in the journal now: the record when it closes must not count them again.
        swarm.peers[key]?.countersRecorded()
        slot.channel.close(promise: nil)
    }

    /// Acts on what smart ban found once a piece that failed passed: a peer whose block differed lied
    /// (banned, or never dialled again when it is gone); a peer whose blocks matched gets back the blame
    /// it took for the failure.
    private func judge(_ verdict: SmartBan.Verdict) {
        for address in verdict.liars {
            if let key = swarm.peers.key(of: address) {
                ban(key, because: "for sending a block that differs from the verified piece")
            } else {
                swarm.candidates[address]?.banned = true
            }
        }
        swarm.candidates.clear(verdict.cleared, share: verdict.share)
    }
}
