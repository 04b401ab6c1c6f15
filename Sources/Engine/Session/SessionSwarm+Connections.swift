import NIOCore

/// Connections joining the swarm: a slot for each, and the checks of the peer's handshake.
extension SessionSwarm {
    /// The extensions btq offers in its handshake: the Fast extension (BEP 6) and the extension
    /// protocol (BEP 10).
    static let offeredExtensions: ReservedBits = [.fast, .extensionProtocol]

    /// Adds a connection to `address`, dialled or incoming (`source`; else the source the address came
    /// from), with a state machine that speaks no extension until the peer's handshake says which it
    /// has; the address counts as connected. Returns its key.
    mutating func register(
        address: PeerAddress, channel: any Channel, outbox: PeerOutbox, source: PeerUpdate.Source?,
        security: PeerTransportSecurity = .plain, now: ContinuousClock.Instant
    ) -> PeerKey {
        let machine = PeerConnectionStateMachine(
            configuration: .init(pieceCount: layout.pieceCount, pieceLength: UInt32(layout.pieceLength)))
        let origin = source ?? candidates[address]?.source ?? .manual
        let key = peers.admit { key in
            PeerSlot(
                key: key, address: address, source: origin, channel: channel, outbox: outbox, connectedAt: now,
                machine: machine, lastMessageAt: now, lastKeepAliveSent: now, security: security)
        }
        candidates.connected(address)
        return key
    }

    /// What a handshake is checked against, besides the peers connected already.
    struct HandshakeRules {
        /// The torrent's info-hash as peers name it.
        var infoHash: [UInt8]
        /// Our own peer id: a peer that names it is ourselves.
        var ownPeerId: [UInt8]
        /// Peer ids banned for lying.
        var bannedPeerIds: Set<[UInt8]>
        /// How many requests a peer may queue with us.
        var maxPeerRequests: Int
    }

    /// Checks the peer's handshake: the right torrent, not ourselves (the address is never dialled
    /// again), not banned, not connected already under another address. An accepted peer's state
    /// machine speaks the extensions both sides offered, and our availability is queued for it.
    /// Returns why to drop the peer, or `nil`.
    mutating func handshakeReceived(
        _ handshake: PeerHandshake, from key: PeerKey, rules: HandshakeRules, now: ContinuousClock.Instant
    ) -> String? {
        guard var slot = peers[key] else { return "gone" }
        guard handshake.infoHash == rules.infoHash else { return "wrong info-hash" }
        guard handshake.peerId != rules.ownPeerId else {
            candidates[slot.address]?.banned = true  // ourselves, as a tracker handed us back
            return "connected to ourselves"
        }
        if rules.bannedPeerIds.contains(handshake.peerId) {
            return "banned peer id"
        }
        if peers.hasHandshaken(peerId: handshake.peerId, besides: key) {
            return "already connected to this peer"
        }
        var wire = PeerConnectionStateMachine.Configuration(
            pieceCount: layout.pieceCount, pieceLength: UInt32(layout.pieceLength), local: Self.offeredExtensions,
            remote: handshake.reserved)
        wire.maxPeerRequests = rules.maxPeerRequests
        wire.maxRequestsWhileChoked = rules.maxPeerRequests
        slot.machine = PeerConnectionStateMachine(configuration: wire)
        slot.peerId = handshake.peerId
        slot.handshaken = true
        slot.lastMessageAt = now
        candidates.handshaken(slot.address)
        let first = picker.availabilityMessages(fast: slot.machine.configuration.fastExtension)
        peers[key] = slot
        peers[key]?.send(first)
        return nil
    }
}
