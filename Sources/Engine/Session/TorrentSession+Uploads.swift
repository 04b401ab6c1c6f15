import NIOCore

/// Most `piece` bytes waiting in a peer's outbox; beyond it the peer's blocks are read only as the
/// socket takes the earlier ones. At most half the peer's queue limit, so uploading alone never makes
/// a peer that reads stop being read from.
private let maxQueuedUploadBytes = 1 << 20

extension TorrentSession {
    /// Starts the task that reads and sends the peer's requested blocks, unless it runs already or
    /// there is nothing to send.
    func startServing(_ key: PeerKey) {
        guard let slot = swarm.peers[key], canServe(slot), !slot.upload.serving else { return }
        swarm.peers[key]?.upload.serving = true
        Task { await self.serve(key) }
    }

    private func canServe(_ slot: PeerSlot) -> Bool {
        slot.handshaken && !slot.machine.amChoking && !slot.machine.peerRequests.isEmpty
            && slot.upload.queuedBytes < min(maxQueuedUploadBytes, configuration.memoryBudget.peerQueueLimit / 2)
    }

    /// Reads and sends one block after another (through the read cache, after the upload limits) until
    /// the peer has nothing more to get now.
    private nonisolated func serve(_ key: PeerKey) async {
        while let request = await nextUpload(key) {
            let block: ByteBuffer
            do {
                block = try await readCache.block(request)
            } catch {
                await uploadReadFailed(key, request, error: error)
                return
            }
            let wait = limits.reserveUpload(block.readableBytes)
            if wait > .zero {
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    await uploadStopped(key)
                    return
                }
            }
            await uploadReady(key, request, block: block)
        }
    }

    /// The oldest request to serve, or `nil` (and the serving task ends) when there is none now.
    private func nextUpload(_ key: PeerKey) -> BlockRequest? {
        guard let slot = swarm.peers[key] else { return nil }
        guard !lifecycle.closingPeers, canServe(slot), let request = slot.machine.peerRequests.first else {
            swarm.peers[key]?.upload.serving = false
            return nil
        }
        return request
    }

    private func uploadStopped(_ key: PeerKey) {
        swarm.peers[key]?.upload.serving = false
    }

    /// A block was read: send it, unless the request was cancelled or choked away meanwhile.
    private func uploadReady(_ key: PeerKey, _ request: BlockRequest, block: ByteBuffer) {
        guard var slot = swarm.peers.take(key) else { return }
        if let message = slot.machine.blockReady(for: request, block: block) {
            let length = Int64(request.length)
            slot.send([message])
            slot.upload.queuedBytes += Int(length)
        }
        swarm.peers.putBack(slot)
    }

    /// A verified piece could not be read back (file deleted or truncated behind our back): the peer
    /// is dropped and the torrent fails, as it would for a write error.
    private func uploadReadFailed(_ key: PeerKey, _ request: BlockRequest, error: any Error) {
        swarm.peers[key]?.upload.serving = false
        swarm.peers[key]?.channel.close(promise: nil)
        let reason = "cannot read piece \(request.piece) for upload: \(error)"
        if lifecycle.fail(reason) { logger.error("\(reason)") }
    }

    /// The writer put `bytes` of `piece` messages on the socket: they count as uploaded (a block still
    /// queued when its connection breaks never reached the peer), and there is room for more.
    func uploadWritten(_ key: PeerKey, bytes: Int) {
        let length = Int64(bytes)
        swarm.statistics.uploaded(length, at: .now)
        guard var slot = swarm.peers.take(key) else { return }
        slot.upload.queuedBytes -= bytes
        slot.upload.uploadedUnsaved += length
        slot.upload.uploadedInRound += length
        swarm.peers.putBack(slot)
        startServing(key)
    }

    /// A peer left: its optimistic slot is given away.
    func uploadPeerClosed(_ slot: PeerSlot) {
        seeding.choker.peerLeft(slot.key)
    }

    /// A peer became interested (or lost interest): unchoke it at once when a slot is free, so a new
    /// leecher need not wait for the next round.
    func peerInterestChanged(_ key: PeerKey) {
        guard let slot = swarm.peers[key], slot.handshaken, slot.machine.peerInterested, slot.machine.amChoking else {
            return
        }
        guard seeding.choker.hasFreeSlot(unchoked: swarm.peers.unchokedCount) else { return }
        setChoked(false, key)
    }

    /// Runs a choker round when one is due.
    func rechokeIfDue(now: ContinuousClock.Instant) {
        let elapsed = now - seeding.lastRechoke
        guard elapsed >= configuration.rechokeInterval else { return }
        seeding.lastRechoke = now
        let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        let facts = swarm.chokerRound(seconds: seconds)
        let unchoke = seeding.choker.rechoke(facts, mode: swarm.picker.isComplete ? .seeding : .leeching, now: now)
        for fact in facts {
            setChoked(!unchoke.contains(fact.key), fact.key)
        }
    }

    /// Chokes or unchokes a peer (sending what that takes) and starts serving it when unchoked.
    func setChoked(_ choked: Bool, _ key: PeerKey) {
        guard var slot = swarm.peers.take(key) else { return }
        if choked {
            slot.send(slot.machine.choke())
        } else if let message = slot.machine.unchoke() {
            slot.upload.unchokedSince = .now
            slot.send([message])
        }
        swarm.peers.putBack(slot)
        if !choked { startServing(key) }
    }
}
