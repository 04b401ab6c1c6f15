import NIOCore
import NIOPosix

/// Why a peer connection ends early.
struct PeerDropped: Error, CustomStringConvertible {
    let reason: String
    /// The peer broke the rules (its address is refused for a while).
    var misbehaved = false
    var description: String { reason }
}

extension TorrentSession {
    /// Candidates due for a connection attempt, marked as connecting.
    func addressesToDial() -> [PeerAddress] {
        swarm.addressesToDial(
            now: .now, maxPeers: configuration.maxPeers, maxConnecting: configuration.maxConnecting)
    }

    /// Connects to `address` and runs the connection until it ends.
    func dial(_ address: PeerAddress) async {
        let channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>
        do {
            channel = try await PeerDialer.connect(
                to: address, group: group, timeout: configuration.connectTimeout,
                maxFrameLength: PeerMessageDecoder.maxFrameLength(pieceCount: layout.pieceCount),
                budget: configuration.memoryBudget)
        } catch {
            swarm.candidates.closed(address, failed: true, now: .now)
            logger.debug("cannot connect to \(address): \(error)")
            return
        }
        await runConnection(channel, address: address)
    }

    /// Inbound elements are batches (one per socket read, see ``PeerFrameBatcher``): NIO reads ahead
    /// up to 16 of them before it waits for the reader task.
    static let channelConfiguration = PeerDialer.channelConfiguration

    /// Registers the connection, then runs its writer and reader until either ends.
    func runConnection(_ channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>, address: PeerAddress) async {
        let outbox = PeerOutbox(budget: configuration.memoryBudget)
        let key = register(address: address, channel: channel.channel, outbox: outbox)
        let known = PeerConnectionDriver.Admitted(owner: self, key: key)
        let (_, reason, _) = await PeerConnectionDriver.run(channel, outbox: outbox, known: known) { handshake in
            if let problem = await self.handshakeReceived(handshake, from: key) {
                throw PeerDropped(reason: problem)
            }
            return known
        }
        outbox.finish()
        peerClosed(key, reason: reason)
    }

    func register(
        address: PeerAddress, channel: any Channel, outbox: PeerOutbox,
        source: PeerUpdate.Source? = nil
    )
        -> PeerKey
    {
        let now = ContinuousClock.now
        let handshake = PeerHandshake(
            infoHash: infoHash, peerId: configuration.peerId, reserved: [.fast, .extensionProtocol])
        let machine = PeerConnectionStateMachine(
            configuration: .init(
                pieceCount: layout.pieceCount, pieceLength: UInt32(layout.pieceLength), fastExtension: false,
                extensionProtocol: false))
        let origin = source ?? swarm.candidates[address]?.source ?? .manual
        let key = swarm.peers.admit { key in
            PeerSlot(
                key: key, address: address, source: origin, channel: channel, outbox: outbox, connectedAt: now,
                machine: machine, lastMessageAt: now, lastKeepAliveSent: now)
        }
        swarm.candidates.connected(address)
        outbox.send([PeerWireFrame.handshake(handshake)])
        return key
    }

    /// Checks the peer's handshake and sends our availability; returns why to drop it, if so.
    func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String? {
        guard var slot = swarm.peers[key] else { return "gone" }
        guard handshake.infoHash == infoHash else { return "wrong info-hash" }
        guard handshake.peerId != configuration.peerId else {
            swarm.candidates[slot.address]?.banned = true  // ourselves, as a tracker handed us back
            return "connected to ourselves"
        }
        if seeding.bannedPeerIds.contains(handshake.peerId) {
            return "banned peer id"
        }
        if swarm.peers.hasHandshaken(peerId: handshake.peerId, besides: key) {
            return "already connected to this peer"
        }
        let local: ReservedBits = [.fast, .extensionProtocol]
        var wire = PeerConnectionStateMachine.Configuration(
            pieceCount: layout.pieceCount, pieceLength: UInt32(layout.pieceLength), local: local,
            remote: handshake.reserved)
        wire.maxPeerRequests = configuration.maxPeerRequests
        wire.maxRequestsWhileChoked = configuration.maxPeerRequests
        slot.machine = PeerConnectionStateMachine(configuration: wire)
        slot.peerId = handshake.peerId
        slot.handshaken = true
        slot.lastMessageAt = .now
        swarm.candidates.handshaken(slot.address)
        let first = swarm.picker.availabilityMessages(fast: slot.machine.configuration.fastExtension)
        swarm.peers[key] = slot
        swarm.peers[key]?.send(first)
        sendExtensionHandshake(key)
        return nil
    }

    /// Forgets a closed connection: its requests go back to the pool, its pieces leave the availability.
    func peerClosed(_ key: PeerKey, reason: String) {
        guard let slot = swarm.remove(key, now: .now) else { return }
        uploadPeerClosed(slot)
        recordPeer(slot)
        rememberListenAddress(of: slot)
        logger.debug("peer \(slot.address) closed: \(reason)")
        // Others may now have room for the requests this peer held.
        swarm.fillAllRequests(limits: limits)
    }
}

extension TimeAmount {
    /// The same span as a Swift `Duration`.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
