import NIOCore

/// The extension protocol (BEP 10) in a session: carries out what ``ExtensionProtocol`` decides (the
/// extension handshake, serving metadata per BEP 9, peer exchange per BEP 11).
extension TorrentSession {
    /// Sends our extension handshake right after the handshake, when both sides speak BEP 10.
    func sendExtensionHandshake(_ key: PeerKey) {
        guard let slot = swarm.peers[key], slot.handshaken, slot.machine.configuration.extensionProtocol else { return }
        let handshake = extensionProtocol.handshake(
            listenPort: configuration.advertisedPort, requestQueueLength: slot.machine.configuration.maxPeerRequests,
            to: slot.address, uploadOnly: swarm.picker.isComplete)
        slot.send([PeerMessage.extended(id: 0, payload: ByteBuffer(bytes: handshake.encoded()))])
    }

    /// Handles one extension message from the peer at `key`: answers it, takes the peers it names as
    /// candidates (within bounds), or drops a peer that broke the extension protocol.
    func receivedExtended(id: UInt8, payload: ByteBuffer, from key: PeerKey) -> ReaderStep {
        guard var slot = swarm.peers.take(key) else { return .disconnect("gone") }
        defer { swarm.peers.putBack(slot) }
        let result = extensionProtocol.received(
            id: id, payload: payload, peer: &slot.extensions,
            pexRoom: ExtensionProtocol.maxPexCandidates - swarm.candidates.pexCount, now: .now
        ) { swarm.candidates[$0] != nil }
        if !result.replies.isEmpty { slot.send(result.replies) }
        if !result.learned.isEmpty {
            logger.debug("PEX from \(slot.address): \(result.learned.count) new peer(s)")
            addPeers(result.learned, source: .pex)
        }
        if let why = result.misbehaved { return .misbehaved(why) }
        return .proceed
    }

    /// A peer that dialled us and named its listen port (`p`) may be dialled back once it left.
    func rememberListenAddress(of slot: PeerSlot) {
        guard slot.source == .incoming, slot.handshaken, let address = slot.listenAddress, address != slot.address,
            swarm.candidates[address] == nil, swarm.candidates[slot.address]?.banned != true
        else { return }
        swarm.candidates[address] = PeerCandidate(
            address: address, source: .incoming, nextAttempt: .now + configuration.reconnectDelay)
    }

    /// Sends each peer that speaks `ut_pex` the connected peers it has not heard of from us and those
    /// that left, about once a minute. Never for a private torrent.
    func sendPeerExchange() {
        guard extensionProtocol.sharesWithPeers else { return }
        let now = ContinuousClock.now
        let connected = swarm.exchangeablePeers
        for key in Array(swarm.peers.keys) {
            guard var slot = swarm.peers[key], slot.handshaken,
                let message = extensionProtocol.peerExchange(
                    for: &slot.extensions, own: slot.listenAddress, connected: connected, now: now)
            else { continue }
            swarm.peers[key] = slot
            slot.send([message])
        }
    }
}
