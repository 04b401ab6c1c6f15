import NIOCore

/// Peers joining and leaving, and what is uploaded to them.
extension SessionCore {
    /// Candidates due for a connection attempt, marked as connecting.
    mutating func addressesToDial(now: ContinuousClock.Instant) -> [PeerAddress] {
        swarm.addressesToDial(now: now, maxPeers: configuration.maxPeers, maxConnecting: configuration.maxConnecting)
    }

    /// Adds a connection to the swarm and queues our handshake.
    mutating func register(
        address: PeerAddress, channel: any Channel, outbox: PeerOutbox, source: PeerUpdate.Source? = nil,
        security: PeerTransportSecurity = .plain
    ) -> PeerKey {
        let key = swarm.register(
            address: address, channel: channel, outbox: outbox, source: source, security: security, now: .now)
        let handshake = PeerHandshake(
            infoHash: infoHash, peerId: configuration.peerId, reserved: SessionSwarm.offeredExtensions)
        outbox.send([PeerWireFrame.handshake(handshake)])
        return key
    }

    /// Checks the peer's handshake and queues our availability and extension handshake; returns why to
    /// drop it, if so.
    mutating func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String? {
        let rules = SessionSwarm.HandshakeRules(
            infoHash: infoHash, ownPeerId: configuration.peerId, bannedPeerIds: uploads.bannedPeerIds,
            maxPeerRequests: configuration.maxPeerRequests)
        if let problem = swarm.handshakeReceived(handshake, from: key, rules: rules, now: .now) { return problem }
        extensionProtocol.sendHandshake(
            to: key, in: swarm.peers, listenPort: configuration.advertisedPort, uploadOnly: swarm.picker.isComplete)
        return nil
    }

    /// Takes an incoming connection whose handshake named this torrent, with the same checks as a
    /// connection we dial: under the peer limit, and the peer neither banned, nor ourselves, nor
    /// connected already. Queues our handshake and availability.
    ///
    /// - Throws: ``PeerDropped`` saying why the connection is refused.
    mutating func acceptIncoming(
        _ handshake: PeerHandshake, address: PeerAddress, channel: any Channel, outbox: PeerOutbox,
        security: PeerTransportSecurity = .plain
    ) throws -> PeerKey {
        guard handshake.peerId != configuration.peerId else {
            // We dialled our own listening address (a tracker or a peer gave it to us under another
            // name): never dial that address again.
            for slot in swarm.peers.values
            where slot.channel.localAddress.flatMap(PeerAddress.init(socketAddress:)) == address {
                swarm.candidates[slot.address]?.banned = true
                slot.channel.close(promise: nil)
            }
            throw PeerDropped(reason: "connected to ourselves")
        }
        guard swarm.candidates[address]?.banned != true, !uploads.bannedPeerIds.contains(handshake.peerId) else {
            throw PeerDropped(reason: "banned")
        }
        guard swarm.peers.count < configuration.maxPeers else { throw PeerDropped(reason: "too many peers") }
        let key = register(address: address, channel: channel, outbox: outbox, source: .incoming, security: security)
        if let problem = handshakeReceived(handshake, from: key) {
            swarm.peers.remove(key)
            throw PeerDropped(reason: problem)
        }
        logger.debug("incoming peer \(address)")
        return key
    }

    /// Forgets a closed connection: its requests go back to the pool, its pieces leave the availability,
    /// its optimistic slot is given away, and a peer that dialled us may be dialled back. Returns its
    /// slot, for the journal, or `nil` when it was gone already.
    mutating func peerClosed(_ key: PeerKey, reason: String) -> PeerSlot? {
        guard let slot = swarm.remove(key, now: .now) else { return nil }
        uploads.peerLeft(key)
        swarm.candidates.rememberListenAddress(of: slot, retryAt: .now + configuration.reconnectDelay)
        logger.debug("peer \(slot.address) closed: \(reason)")
        // Others may now have room for the requests this peer held.
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
        return slot
    }

    /// Has a serving task start for the peer at `key` when it is owed a block and none runs.
    mutating func startServing(_ key: PeerKey, effects: inout SessionEffects) {
        if uploads.startServing(key, in: &swarm.peers) { effects.serve.append(key) }
    }

    /// The next request a serving task reads and sends, or `nil` (the task ends) when none is owed now.
    mutating func nextUploads(_ key: PeerKey, closing: Bool) -> [BlockRequest] {
        uploads.nextUploads(key, in: &swarm.peers, closing: closing)
    }

    /// A serving task read `block`: it is sent, unless the request was cancelled or choked away meanwhile.
    mutating func blockRead(_ request: BlockRequest, _ block: ByteBuffer, for key: PeerKey) {
        uploads.blockRead(request, block, for: key, in: &swarm.peers)
    }

    /// A serving task ended early (cancelled, or its read failed).
    mutating func servingStopped(_ key: PeerKey) {
        swarm.peers[key]?.upload.serving = false
    }

    /// The writer put `bytes` of `piece` messages on the socket (see ``SessionUploads/written(_:to:in:now:)``).
    mutating func uploadWritten(_ key: PeerKey, bytes: Int, effects: inout SessionEffects) {
        uploads.written(bytes, to: key, in: &swarm, now: .now)
        startServing(key, effects: &effects)
    }

    /// Chokes or unchokes a peer, and has it served when unchoked.
    mutating func setChoked(_ choked: Bool, _ key: PeerKey, effects: inout SessionEffects) {
        uploads.setChoked(choked, key, in: &swarm.peers, now: .now)
        if !choked { startServing(key, effects: &effects) }
    }
}
