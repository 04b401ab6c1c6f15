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

    /// Adds a connection to the swarm and sends our handshake.
    func register(
        address: PeerAddress, channel: any Channel, outbox: PeerOutbox, source: PeerUpdate.Source? = nil
    ) -> PeerKey {
        let key = swarm.register(address: address, channel: channel, outbox: outbox, source: source, now: .now)
        let handshake = PeerHandshake(
            infoHash: infoHash, peerId: configuration.peerId, reserved: SessionSwarm.offeredExtensions)
        outbox.send([PeerWireFrame.handshake(handshake)])
        return key
    }

    /// Checks the peer's handshake and sends our availability and extension handshake; returns why to
    /// drop it, if so.
    func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String? {
        let rules = SessionSwarm.HandshakeRules(
            infoHash: infoHash, ownPeerId: configuration.peerId, bannedPeerIds: seeding.bannedPeerIds,
            maxPeerRequests: configuration.maxPeerRequests)
        if let problem = swarm.handshakeReceived(handshake, from: key, rules: rules, now: .now) { return problem }
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
