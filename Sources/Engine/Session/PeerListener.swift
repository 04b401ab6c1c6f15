import NIOCore
import NIOPosix

/// The process's listening sockets for peers (one per address bound, all on one port): accepts
/// connections, reads each one's handshake, and hands it to the running session of the torrent it
/// names (through a ``SessionRegistry``). A handshake for a torrent that is not running, or none
/// within the handshake timeout, closes the connection; so does the session's refusal (peer limit,
/// ban, ourselves). Connections over the limits of an ``IncomingAdmission`` (too many from one
/// address, too many waiting for their handshake, an address whose peer broke the rules a short
/// while ago) are closed as soon as they are accepted; while the places for a handshake are all
/// taken, a newcomer from an address holding few of them takes the oldest of the address holding the
/// most, which is closed.
package struct PeerListener: Sendable {
    typealias Connection = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>

    /// An accepted connection and, unless encryption is disabled, how its MSE handshake ended.
    struct Incoming: Sendable {
        /// Closed if dropped before it is served (see ``PendingConnection``).
        let connection: PendingConnection<[PeerWireFrame], PeerWireFrame>
        let encryption: MSEResult?
    }

    /// The first address bound (the one asked for first).
    package var host: String { hosts[0] }
    /// The addresses bound, in the order asked for, all on ``port``.
    package let hosts: [String]
    /// The addresses asked for that could not be bound on ``port``, with why.
    package let unbound: [(host: String, reason: String)]
    /// The port actually bound.
    package let port: UInt16
    private let servers: [NIOAsyncChannel<Incoming, Never>]
    /// The UDP sockets on ``port`` that take uTP connections (one per address bound; none when uTP is
    /// off). The DHT shares them (``MainlineDHT/start(_:store:group:shared:)``), and connections are
    /// dialled from them (``PeerTransports``).
    package let utpSockets: [UTPSocket]
    /// ``utpSockets`` by the address each is bound to.
    package var utpSocketsByHost: [String: UTPSocket] {
        Dictionary(zip(hosts, utpSockets), uniquingKeysWith: { first, _ in first })
    }
    /// uTP connections the sockets' acceptors admitted, for ``run()`` to serve.
    private let utpIncoming: AsyncStream<UTPIncoming>
    private let utpContinuation: AsyncStream<UTPIncoming>.Continuation
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
    ///   - maxPerAddress: most connections at once from one IP address (an IPv6 /64 counts as one),
    ///     whatever torrent they are for; more are closed at once.
    ///   - budget: the process's budget for bytes held for peers (give the sessions' own, see
    ///     ``SessionConfiguration/memoryBudget``).
    ///   - encryption: the `encryption` setting: `prefer` answers MSE/PE and plaintext handshakes,
    ///     `require` only MSE/PE with RC4, `disable` only plaintext. The MSE handshake is inside
    ///     `handshakeTimeout`, and a connection in it counts as pending.
    /// - Throws: when the address cannot be bound (in use, not local, no permission).
    package static func bind(
        host: String, port: UInt16, registry: SessionRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, handshakeTimeout: Duration = .seconds(10),
        maxPending: Int = 64, maxPerAddress: Int = PeerListener.defaultMaxPerAddress,
        budget: PeerMemoryBudget = PeerMemoryBudget(), encryption: EncryptionPolicy = .prefer
    ) async throws -> PeerListener {
        try await bind(
            hosts: [host], port: port, registry: registry, group: group, handshakeTimeout: handshakeTimeout,
            maxPending: maxPending, maxPerAddress: maxPerAddress, budget: budget, encryption: encryption)
    }

    /// Binds the first of `hosts` on `port` (port 0: any free port), then each other one on the port
    /// that gave; those that cannot be bound are only listed in ``unbound``. An IPv6 socket takes
    /// IPv6 connections only (`IPV6_V6ONLY`), so that `::` binds beside `0.0.0.0` on the same port.
    /// With `tcp` each address gets a TCP listening socket, with `utp` a UDP socket for uTP on the
    /// same port (the DHT shares it, see ``utpSockets``); at least one must be on.
    /// All of them accept into the same registry, under the same ``IncomingAdmission``. The other
    /// parameters are those of ``bind(host:port:registry:group:handshakeTimeout:maxPending:maxPerAddress:budget:encryption:)``.
    ///
    /// - Throws: when the first address cannot be bound (in use, not local, no permission).
    package static func bind(
        hosts: [String], port: UInt16, registry: SessionRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, handshakeTimeout: Duration = .seconds(10),
        maxPending: Int = 64, maxPerAddress: Int = PeerListener.defaultMaxPerAddress,
        budget: PeerMemoryBudget = PeerMemoryBudget(), encryption: EncryptionPolicy = .prefer, tcp: Bool = true,
        utp: Bool = false
    ) async throws -> PeerListener {
        precondition(!hosts.isEmpty, "an address to bind")
        guard tcp || utp else { throw PeerTransportError.noTransportEnabled }
        let admission = IncomingAdmission(limits: .init(maxPending: maxPending, maxPerAddress: maxPerAddress))
        let (utpIncoming, utpContinuation) = AsyncStream.makeStream(of: UTPIncoming.self)
        let acceptor = UTPAcceptor(
            admission: admission, registry: registry, budget: budget, encryption: encryption,
            continuation: utpContinuation)
        var servers: [NIOAsyncChannel<Incoming, Never>] = []
        var sockets: [UTPSocket] = []
        var bound = port
        var boundHosts: [String] = []
        var unbound: [(host: String, reason: String)] = []
        for (index, host) in hosts.enumerated() {
            var server: NIOAsyncChannel<Incoming, Never>?
            do {
                if tcp {
                    let made = try await Self.server(
                        host: host, port: bound, group: group, budget: budget, registry: registry,
                        encryption: encryption)
                    server = made
                    if index == 0 { bound = made.channel.localAddress?.port.map { UInt16(clamping: $0) } ?? port }
                }
                if utp {
                    let socket = try await UTPSocket.bind(host: host, port: bound, group: group)
                    try await socket.setAcceptor { acceptor.accept($0) }
                    sockets.append(socket)
                    if index == 0, !tcp { bound = socket.port }
                }
                if let server { servers.append(server) }
                boundHosts.append(host)
            } catch {
                try? await server?.channel.close()
                if index == 0 {
                    utpContinuation.finish()
                    throw error
                }
                unbound.append((host, "\(error)"))
            }
        }
        return PeerListener(
            hosts: boundHosts, unbound: unbound, port: bound, servers: servers, utpSockets: sockets,
            utpIncoming: utpIncoming, utpContinuation: utpContinuation, registry: registry,
            handshakeTimeout: TimeAmount(handshakeTimeout), admission: admission, budget: budget)
    }

    /// One listening socket on `host:port` with the peer wire pipeline on each connection it accepts.
    private static func server(
        host: String, port: UInt16, group: any EventLoopGroup, budget: PeerMemoryBudget, registry: SessionRegistry,
        encryption: EncryptionPolicy
    ) async throws -> NIOAsyncChannel<Incoming, Never> {
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 128)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        if host.contains(":") {
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return
            try await bootstrap
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .bind(host: host, port: Int(port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try incomingPipeline(on: channel, budget: budget, registry: registry, encryption: encryption)
                }
            }
    }

    /// Sets up an accepted connection's pipeline (TCP or uTP): the MSE responder unless encryption
    /// is disabled, the peer wire codec and the batcher. On the channel's event loop.
    fileprivate static func incomingPipeline(
        on channel: any Channel, budget: PeerMemoryBudget, registry: SessionRegistry, encryption: EncryptionPolicy
    ) throws -> Incoming {
        let mse = try channel.pipeline.syncOperations.addMSEResponder(policy: encryption) {
            registry.infoHashes
        }
        try channel.pipeline.syncOperations.addPeerWireCodec(budget: budget)
        try channel.pipeline.syncOperations.addHandler(PeerFrameBatcher())
        let connection = try Connection(
            wrappingChannelSynchronously: channel, configuration: PeerDialer.channelConfiguration)
        return Incoming(connection: PendingConnection(connection), encryption: mse)
    }

    /// The default most connections at once from one IP address: a client downloading many torrents
    /// from us holds one per torrent (libtorrent allows one per address and torrent), and a few clients
    /// may share one NAT.
    package static let defaultMaxPerAddress = 64

    /// The default most connections at once from one IP address that have not sent their handshake:
    /// what a flood of idle connections from one address can hold (half of what all addresses may), and
    /// enough for a client that starts dozens of torrents from us at once (with 8, one downloading 50
    /// of a thousand torrents seeded here was refused most of its connections and took a minute).
    package static let defaultMaxPendingPerAddress = 32

    /// Accepts connections on every socket until ``close()``; each runs in a child task until it ends.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for server in servers {
                group.addTask { await accept(on: server) }
            }
            group.addTask {
                await withDiscardingTaskGroup { connections in
                    for await incoming in utpIncoming {
                        guard let connection = incoming.incoming.connection.take() else { continue }
                        connections.addTask {
                            await serve(
                                connection, address: incoming.address, ticket: incoming.ticket,
                                encryption: incoming.incoming.encryption)
                        }
                    }
                }
            }
        }
    }

    /// The accept loop of one socket.
    private func accept(on server: NIOAsyncChannel<Incoming, Never>) async {
        do {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await incoming in inbound {
                        guard let connection = incoming.connection.take() else { continue }
                        let channel = connection.channel
                        guard let remote = channel.remoteAddress, let address = PeerAddress(socketAddress: remote),
                            let ticket = try? admission.admit(address.host, close: { channel.close(promise: nil) })
                        else {
                            // Closed through the async channel, so that its writer is finished.
                            group.addTask { try? await connection.executeThenClose { _, _ in } }
                            continue
                        }
                        group.addTask {
                            await serve(connection, address: address, ticket: ticket, encryption: incoming.encryption)
                        }
                    }
                }
            }
        } catch {
            // Closed: the accept loop ends.
        }
    }

    /// Stops accepting (connections already handed to sessions go on).
    package func close() {
        for server in servers { server.channel.close(promise: nil) }
        for socket in utpSockets { socket.closeSoon() }
        utpContinuation.finish()
    }

    private func serve(
        _ connection: Connection, address: PeerAddress, ticket: IncomingAdmission.Ticket, encryption: MSEResult?
    ) async {
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
            // The BitTorrent handshake comes after the MSE one: its outcome is known by now.
            let key = try await session.acceptIncoming(
                handshake, address: address, channel: channel, outbox: outbox,
                security: encryption?.security ?? .plain)
            return PeerConnectionDriver.Admitted(owner: session, key: key)
        }
        timeout.cancel()
        if misbehaved { admission.penalize(address.host) }
        admission.closed(ticket)
        outbox.finish()
        if let admitted { await admitted.owner.connectionEnded(admitted.key, reason: reason) }
    }
}

/// A uTP connection admitted by a socket's acceptor, waiting for ``PeerListener/run()`` to serve it.
struct UTPIncoming: Sendable {
    let incoming: PeerListener.Incoming
    let address: PeerAddress
    let ticket: IncomingAdmission.Ticket
}

/// What the listener's uTP sockets call, on their event loop, for each SYN the multiplexer would
/// take: the same ``IncomingAdmission`` as TCP (a connection over its limits is refused with
/// ST_RESET), then the same pipeline, then handed to the listener.
struct UTPAcceptor: Sendable {
    let admission: IncomingAdmission
    let registry: SessionRegistry
    let budget: PeerMemoryBudget
    let encryption: EncryptionPolicy
    let continuation: AsyncStream<UTPIncoming>.Continuation

    func accept(_ channel: any Channel) -> Bool {
        guard let remote = channel.remoteAddress, let address = PeerAddress(socketAddress: remote),
            let ticket = try? admission.admit(address.host, close: { channel.close(promise: nil) })
        else { return false }
        do {
            let incoming = try PeerListener.incomingPipeline(
                on: channel, budget: budget, registry: registry, encryption: encryption)
            guard case .enqueued = continuation.yield(UTPIncoming(incoming: incoming, address: address, ticket: ticket))
            else {
                admission.closed(ticket)
                return false
            }
            return true
        } catch {
            admission.closed(ticket)
            return false
        }
    }
}
