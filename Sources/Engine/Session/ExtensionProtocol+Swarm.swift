import NIOCore

/// The extension protocol carried out on a session's peers: our extension handshake, what each
/// extension message does to the peer that sent it, and the rounds of peer exchange (BEP 11).
extension ExtensionProtocol {
    /// Queues our extension handshake for the peer at `key`, right after the handshake, when both sides
    /// speak BEP 10. `uploadOnly` when the torrent is complete.
    func sendHandshake(to key: PeerKey, in peers: PeerTable, listenPort: UInt16?, uploadOnly: Bool) {
        guard let slot = peers[key], slot.handshaken, slot.machine.configuration.extensionProtocol else { return }
        let message = handshake(
            listenPort: listenPort, requestQueueLength: slot.machine.configuration.maxPeerRequests, to: slot.address,
            uploadOnly: uploadOnly)
        slot.send([PeerMessage.extended(id: 0, payload: ByteBuffer(bytes: message.encoded()))])
    }

    /// Handles one extension message from the peer at `key`: answers it, and returns what its reader does
    /// next (a peer that broke the extension protocol is dropped) and the new addresses its PEX named
    /// (within bounds), for the candidates.
    func received(
        id: UInt8, payload: ByteBuffer, from key: PeerKey, swarm: inout SessionSwarm, now: ContinuousClock.Instant
    ) -> (step: ReaderStep, learned: [PeerAddress]) {
        guard var slot = swarm.peers.take(key) else { return (.disconnect("gone"), []) }
        let candidates = swarm.candidates
        let result = received(
            id: id, payload: payload, peer: &slot.extensions, pexRoom: Self.maxPexCandidates - candidates.pexCount,
            now: now
        ) { candidates[$0] != nil }
        if !result.replies.isEmpty { slot.send(result.replies) }
        swarm.peers.putBack(slot)
        return (result.misbehaved.map { .misbehaved($0) } ?? .proceed, result.learned)
    }

    /// Sends each peer that speaks `ut_pex` the connected peers it has not heard of from us and those
    /// that left, about once a minute. Never for a private torrent.
    func sendPeerExchange(to peers: inout PeerTable, now: ContinuousClock.Instant) {
        guard sharesWithPeers else { return }
        let connected = peers.exchangeable
        for key in Array(peers.keys) {
            guard var slot = peers[key], slot.handshaken,
                let message = peerExchange(
                    for: &slot.extensions, own: slot.listenAddress, connected: connected, now: now)
            else { continue }
            peers[key] = slot
            slot.send([message])
        }
    }
}

extension PeerTable {
    /// The listen addresses of the handshaken peers, with what PEX says of each (BEP 11).
    var exchangeable: [PeerAddress: PexMessage.Flags] {
        var connected: [PeerAddress: PexMessage.Flags] = [:]
        for slot in values where slot.handshaken {
            guard let address = slot.listenAddress, address.compact != nil else { continue }
            var flags: PexMessage.Flags = slot.source == .incoming ? [] : .reachable
            if slot.isSeed { flags.insert(.seed) }
            connected[address] = flags
        }
        return connected
    }
}
