import NIOCore

/// The session's connections: dialled and accepted, fed to ``SessionCore``, served, and closed; and
/// what the core leaves to the actor (``SessionEffects``).
extension TorrentSession: DialingOwner {
    /// Connects to `address` and runs the connection until it ends.
    nonisolated func dial(_ address: PeerAddress) async {
        await PeerConnectionDriver.dial(
            address, for: self, group: group, configuration: configuration,
            maxFrameLength: PeerMessageDecoder.maxFrameLength(pieceCount: storage.layout.pieceCount))
    }

    func dialFailed(_ address: PeerAddress, error: any Error) {
        core.swarm.candidates.closed(address, failed: true, now: .now)
        logger.debug("cannot connect to \(address): \(error)")
    }

    func registerDialled(
        _ address: PeerAddress, channel: any Channel, outbox: PeerOutbox, security: PeerTransportSecurity
    ) -> PeerKey {
        rests.poke()
        return core.register(address: address, channel: channel, outbox: outbox, security: security)
    }

    func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String? {
        core.handshakeReceived(handshake, from: key)
    }

    /// Takes an incoming connection whose handshake named this torrent, while the session runs (see
    /// ``SessionCore/acceptIncoming(_:address:channel:outbox:)``).
    ///
    /// - Throws: ``PeerDropped`` saying why the connection is refused.
    func acceptIncoming(
        _ handshake: PeerHandshake, address: PeerAddress, channel: any Channel, outbox: PeerOutbox,
        security: PeerTransportSecurity = .plain
    ) throws -> PeerKey {
        guard core.uploads.acceptingIncoming, lifecycle.isRunning else {
            throw PeerDropped(reason: "torrent not running")
        }
        rests.poke()
        return try core.acceptIncoming(
            handshake, address: address, channel: channel, outbox: outbox, security: security)
    }

    /// The info-hash peers name in their handshake for this torrent.
    package nonisolated var handshakeInfoHash: [UInt8] { infoHash }

    /// Forgets a closed connection; its record goes to the journal.
    func connectionEnded(_ key: PeerKey, reason: String) {
        if let slot = core.peerClosed(key, reason: reason) { recordPeer(slot) }
        // No peer left to serve: the pieces read for uploads go (an idle seed holds no piece bytes).
        if core.swarm.peers.isEmpty {
            let cache = readCache
            Task { await cache.release() }
        }
    }

    /// Handles the frames of one socket read (see ``SessionCore/received(_:from:epoch:effects:)``).
    /// Stopping, what peers still say is read (so that closing never resets a connection whose last
    /// bytes are on their way to the peer) and not answered.
    func received(_ frames: [PeerWireFrame], from key: PeerKey) -> [ReaderStep] {
        guard !lifecycle.closingPeers else { return [] }
        var effects = SessionEffects()
        let steps = core.received(frames, from: key, epoch: persistence.epoch, effects: &effects)
        perform(effects)
        return steps
    }

    /// Stores a block that bypassed the in-memory assembly, on the peer's reader task.
    nonisolated func storeBlock(_ request: BlockRequest, bytes: [UInt8], from key: PeerKey) async throws {
        do {
            try await storage.write(request, bytes: bytes)
        } catch {
            await changeCore { $0.blockWriteFailed(request, error: error, effects: &$1) }
            throw PeerDropped(reason: "disk: \(error)")
        }
        await changeCore { $0.blockWritten(request, from: key, effects: &$1) }
    }

    /// A download limit in debt pauses the peer's reader.
    nonisolated func readPause(after bytes: Int) -> Duration { limits.reserveDownload(bytes) }

    /// The writer put `bytes` of `piece` messages on the peer's socket.
    func uploadWritten(_ key: PeerKey, bytes: Int) {
        changeCore { $0.uploadWritten(key, bytes: bytes, effects: &$1) }
    }

    /// Reads and sends the peer's requests, a batch at a time (through the read cache, after the upload
    /// limits), until the peer has nothing more to get now.
    private nonisolated func serve(_ key: PeerKey) async {
        while true {
            let requests = await nextUploads(key)
            guard !requests.isEmpty else { return }
            var blocks: [(BlockRequest, ByteBuffer)] = []
            var failure: (BlockRequest, any Error)?
            for (request, result) in zip(requests, await readCache.blocks(requests)) {
                switch result {
                case .success(let block): blocks.append((request, block))
                case .failure(let error): failure = (request, error)
                }
            }
            let wait = limits.reserveUpload(blocks.reduce(0) { $0 + $1.1.readableBytes })
            if wait > .zero, (try? await Task.sleep(for: wait)) == nil {
                await changeCore { core, _ in core.servingStopped(key) }
                return
            }
            await changeCore { core, _ in
                for (request, block) in blocks { core.blockRead(request, block, for: key) }
            }
            if let (request, error) = failure {
                // A verified piece cannot be read back (file deleted or truncated behind our back): the
                // peer is dropped and the torrent fails, as it would for a write error.
                await uploadReadFailed(key, request, error: error)
                return
            }
        }
    }

    private func nextUploads(_ key: PeerKey) -> [BlockRequest] {
        core.nextUploads(key, closing: lifecycle.closingPeers)
    }

    private func uploadReadFailed(_ key: PeerKey, _ request: BlockRequest, error: any Error) {
        core.servingStopped(key)
        core.swarm.peers[key]?.channel.close(promise: nil)
        fail("cannot read piece \(request.piece) for upload: \(error)")
    }

    /// Periodic work (see ``SessionCore/tick(now:effects:)``).
    func tick() {
        // The tick's own changes wake no rest: an idle torrent's tick would otherwise keep itself awake.
        var effects = SessionEffects()
        core.tick(now: .now, effects: &effects)
        perform(effects, pokes: false)
        startStoreBatches(flush: true)
    }

    /// One step of the run's ticks, as a ``Scheduler`` job: steps the run's loop for a tick and asks for the
    /// next one `interval` later, or, while the torrent is idle (see ``SessionCore/tickNeed(now:interval:)``),
    /// rests until an address is due or something gives it work, then ticks.
    func tickStep(every interval: Duration) -> Scheduler.Next {
        if lifecycle.waker.ticksRest {
            lifecycle.waker.ticksRest = false
        } else {
            switch tickNeed(interval: interval) {
            case .now: break
            case .after(let wait):
                lifecycle.waker.ticksRest = true
                return .rest(until: .now + wait)
            case .onActivity:
                lifecycle.waker.ticksRest = true
                return .rest(until: nil)
            }
        }
        loopStep(.tick)
        return .at(.now + interval)
    }

    private func tickNeed(interval: Duration) -> SessionCore.TickNeed {
        // Small pieces waiting for a batch go at the next tick at the latest.
        guard lifecycle.isRunning, !lifecycle.closingPeers, storeBatches.waiting.isEmpty else { return .now }
        // Addresses held back by the dial pace need no tick: the pace wakes the run at their turn.
        return core.tickNeed(now: .now, interval: interval, dialsWait: drive.dialTurns?.isWaiting ?? false)
    }

    /// Applies `change` to the core and carries out what it leaves to the actor.
    func changeCore(_ change: (inout SessionCore, inout SessionEffects) -> Void) {
        var effects = SessionEffects()
        change(&core, &effects)
        perform(effects)
    }

    /// Carries out what the core decided: pieces to hash and store, peers to serve, journal records,
    /// a fault, a wake of the run's loop.
    private func perform(_ effects: SessionEffects, pokes: Bool = true) {
        if pokes { rests.poke() }
        for (piece, buffer, watched) in effects.store { store(piece, buffer, watched: watched) }
        for piece in effects.hash { hash(piece) }
        for (key, plan) in effects.blockLayerReads { readBlockLayer(plan, for: key) }
        for key in effects.serve { Task { await self.serve(key) } }
        for piece in effects.verified { persistence.journal.unsavedPieces[piece] = true }
        for slot in effects.banned { recordPeer(slot, banned: true) }
        if let torrentId = persistence.torrentId {
            for (kind, detail) in effects.events {
                persistence.journal.record(HistoryEvent(torrentId: torrentId, kind: kind, detail: detail))
            }
        }
        if let failure = effects.failure { fail(failure) }
        if effects.wake { wakeLoop() }
    }

    /// Puts a peer's record (its counters, a ban) in the journal, to go with the next batch: it is leaving,
    /// or was banned.
    func recordPeer(_ slot: PeerSlot, banned: Bool? = nil) {
        rests.poke()
        // Outside ``run()``'s loop (an incoming peer closing after the last journal save) no journal interval
        // is coming: save now, on the writer like any batch.
        if persistence.record(slot, banned: banned), !lifecycle.waker.isRunning {
            Task { await self.saveProgressNow() }
        }
    }
}
