import NIOCore
import NIOPosix

/// The process's listening socket for peers: accepts connections, reads each one's handshake, and
/// hands it to the running session of the torrent it names (through a ``SessionRegistry``). A
/// handshake for a torrent that is not running, or none within the handshake timeout, closes the
/// connection; so does the session's refusal (peer limit, ban, ourselves). Connections over the
/// limits of an ``IncomingAdmission`` (too many from one address, too many waiting for their
/// handshake, an address whose peer broke the rules a short while ago) are closed as soon as they
/// are accepted.
package struct PeerListener: Sendable {
    typealias Connection = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>

    /// The address actually bound (its port is the real one when port 0 was asked for).
    package let host: String
    /// The port actually bound.
    package let port: UInt16
    private let server: NIOAsyncChannel<Connection, Never>
    private let registry: SessionRegistry
    private let handshakeTimeout: TimeAmount
    /// The limits on who may connect, and the counts against them.
    let admission: IncomingAdmission
    private let budget: PeerMemoryBudget

    /// Binds `host:port` (port 0: any free port).
    ///
    /// - Parameters:
    ///   - handshakeTimeout: how long a new connection may take to send its handshake.
    ///   - maxPending: most connections accepted at once that have not sent their handshake yet;
    ///     more are closed at once.
    ///   - maxPerAddress: most connections at once from one IP address, whatever torrent they are
    ///     for; more are closed at once.
    ///   - budget: the process's budget for bytes held for peers (give the sessions' own, see
    ///     ``SessionConfiguration/memoryBudget``).
    /// - Throws: when the address cannot be bound (in use, not local, no permission).
    package static func bind(
        host: String, port: UInt16, registry: SessionRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, handshakeTimeout: Duration = .seconds(10),
        maxPending: Int = 64, maxPerAddress: Int = PeerListener.defaultMaxPerAddress,
        budget: PeerMemoryBudget = PeerMemoryBudget()
    ) async throws -> PeerListener {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 128)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .bind(host: host, port: Int(port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addPeerWireCodec(budget: budget)
                    try channel.pipeline.syncOperations.addHandler(PeerFrameBatcher())
                    return try Connection(
                        wrappingChannelSynchronously: channel, configuration: PeerDialer.channelConfiguration)
                }
            }
        let bound = server.channel.localAddress?.port.map { UInt16(clamping: $0) } ?? port
        return PeerListener(
            host: host, port: bound, server: server, registry: registry, handshakeTimeout: TimeAmount(handshakeTimeout),
            admission: IncomingAdmission(limits: .init(maxPending: maxPending, maxPerAddress: maxPerAddress)),
            budget: budget)
    }

    /// The default most connections at once from one IP address: a few torrents' worth from one
    /// client, or a few clients behind one NAT.
    package static let defaultMaxPerAddress = 8

    /// Accepts connections until ``close()``; each runs in a child task until it ends.
    package func run() async {
        do {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let channel = connection.channel
                        guard let remote = channel.remoteAddress, let address = PeerAddress(socketAddress: remote),
                            let ticket = try? admission.admit(address.host)
                        else {
                            // Closed through the async channel, so that its writer is finished.
                            group.addTask { try? await connection.executeThenClose { _, _ in } }
                            continue
                        }
                        group.addTask { await serve(connection, address: address, ticket: ticket) }
                    }
                }
            }
        } catch {
            // Closed: the accept loop ends.
        }
    }

    /// Stops accepting (connections already handed to sessions go on).
    package func close() {
        server.channel.close(promise: nil)
    }

    private func serve(_ connection: Connection, address: PeerAddress, ticket: IncomingAdmission.Ticket) async {
        let channel = connection.channel
        let admission = self.admission
        let timeout = channel.eventLoop.scheduleTask(in: handshakeTimeout) { channel.close(promise: nil) }
        let outbox = PeerOutbox(budget: budget)
        let registry = self.registry
        let (admitted, reason, misbehaved) = await PeerConnectionDriver.run(connection, outbox: outbox, known: nil) {
            handshake in
            timeout.cancel()
            admission.handshakeReceived(ticket)
            guard let session = registry.session(for: handshake.infoHash) else {
                throw PeerDropped(reason: "unknown info-hash")
            }
            let key = try await session.acceptIncoming(
                handshake, address: address, channel: channel, outbox: outbox)
            return PeerConnectionDriver.Admitted(owner: session, key: key)
        }
        timeout.cancel()
        if misbehaved { admission.penalize(address.host) }
        admission.closed(ticket)
        outbox.finish()
        if let admitted { await admitted.owner.connectionEnded(admitted.key, reason: reason) }
    }
}
