import Foundation
import NIOCore
import NIOPosix

/// The process's node on the mainline DHT (BEP 5; BEP 32 for IPv6, one node per family): a UDP socket
/// on the listen port, the decisions of a ``DHTNodeCore``, and the timers around them. It answers other
/// nodes, bootstraps from the saved table and the bootstrap nodes, refreshes stale buckets, looks up
/// torrents' peers for whoever asks (``lookup(infoHash:announcePort:)``) and saves its id and table
/// through a ``DHTStateStore`` every ``Configuration/saveInterval`` and when closed.
package actor MainlineDHT {
    /// How the node runs.
    package struct Configuration: Sendable {
        package var family: DHTFamily
        /// The address to bind (`0.0.0.0`, `::`, or one address).
        package var host: String
        /// The UDP port (the listen port of the peers' TCP socket, as other clients do).
        package var port: UInt16
        /// BEP 43: ask, never answer, and be left out of other nodes' tables.
        package var readOnly = false
        /// `host:port` of the nodes to bootstrap from while the table is empty.
        package var bootstrapNodes: [String] = []
        /// How often the id and table are saved (and when closed).
        package var saveInterval: Duration = .seconds(30)
        /// How often timeouts and refreshes are looked at.
        package var tickInterval: Duration = .milliseconds(250)

        package init(family: DHTFamily, host: String, port: UInt16) {
            self.family = family
            self.host = host
            self.port = port
        }
    }

    /// The address bound, `host:port` (the real port when port 0 was asked for).
    package nonisolated let address: String
    /// The UDP port bound.
    package nonisolated let port: UInt16
    package nonisolated let family: DHTFamily
    private let configuration: Configuration
    private let channel: any Channel
    private let inbound: DHTInbound
    /// Our handler in the shared socket's pipeline (`nil`: the socket is our own).
    private let sharedHandler: DHTInboundHandler?
    private let store: (any DHTStateStore)?
    private let startedAt = Timestamp.now
    private var core: DHTNodeCore
    private var askers: [Int: AsyncStream<[PeerAddress]>.Continuation] = [:]
    /// Lookups asked for while the others used every slot: started in order as those end.
    private var waiting = WaitingLookups()
    private var bootstrapAddresses: [PeerAddress] = []
    private var nextBootstrap = ContinuousClock.now
    private var bootstrapWait: Duration = .seconds(5)
    /// The first save comes soon after the start (so `btq dht` shows a running node), then every
    /// ``Configuration/saveInterval``.
    private var nextSave = ContinuousClock.now + .seconds(5)
    private var closed = false

    /// Binds the node's socket, with the id and nodes `store` saved for `configuration.family` (a new
    /// random id when none). With `shared` (the listen port's UDP socket, which uTP uses too) the node
    /// binds nothing: it reads the datagrams that are not uTP from that socket and sends on it, and
    /// ``close()`` leaves the socket open.
    ///
    /// - Throws: when the address cannot be bound.
    package static func start(
        _ configuration: Configuration, store: (any DHTStateStore)?,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, shared: UTPSocket? = nil
    ) async throws -> MainlineDHT {
        let family = configuration.family
        var saved: DHTSavedState?
        if let store {
            saved = try? await NIOBlockingExecutor().run { try store.loadDHTState(family: family) }
        }
        let inbound = DHTInbound()
        if let shared {
            let handler = DHTInboundHandler(inbound)
            try await shared.channel.pipeline.addHandler(handler).get()
            return await started(
                configuration, store: store, saved: saved, channel: shared.channel, port: shared.port,
                inbound: inbound, sharedHandler: handler)
        }
        var datagrams = DatagramBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // Bursts of small datagrams overflow the default buffer (a few hundred) before a read.
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 1 << 20)
        if family == .ipv6 {
            // IPv6 only, so that `::` binds beside the IPv4 node's `0.0.0.0` on the same port.
            datagrams = datagrams.channelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        let channel =
            try await datagrams
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DHTInboundHandler(inbound))
                }
            }
            .bind(host: configuration.host, port: Int(configuration.port)).get()
        let port = channel.localAddress?.port.map { UInt16(clamping: $0) } ?? configuration.port
        return await started(
            configuration, store: store, saved: saved, channel: channel, port: port, inbound: inbound,
            sharedHandler: nil)
    }

    /// The node on `channel`, bootstrapping.
    private static func started(
        _ configuration: Configuration, store: (any DHTStateStore)?, saved: DHTSavedState?, channel: any Channel,
        port: UInt16, inbound: DHTInbound, sharedHandler: DHTInboundHandler?
    ) async -> MainlineDHT {
        let family = configuration.family
        // Resolved before the first lookup, which asks them too while the table is small.
        let names = configuration.bootstrapNodes
        let bootstrap = (try? await NIOBlockingExecutor().run { DHTBootstrap.resolve(names, family: family) }) ?? []
        let now = ContinuousClock.now
        let core = DHTNodeCore(
            family: family, id: saved?.id ?? .random(), readOnly: configuration.readOnly,
            saved: (saved?.nodes ?? []).map { DHTNode(id: $0.id, address: $0.address) }, now: now)
        let node = MainlineDHT(
            configuration: configuration, port: port, channel: channel, inbound: inbound, store: store, core: core,
            sharedHandler: sharedHandler)
        await node.bootstrap(from: bootstrap)
        return node
    }

    private init(
        configuration: Configuration, port: UInt16, channel: any Channel, inbound: DHTInbound,
        store: (any DHTStateStore)?, core: DHTNodeCore, sharedHandler: DHTInboundHandler?
    ) {
        self.sharedHandler = sharedHandler
        self.configuration = configuration
        self.family = configuration.family
        self.port = port
        self.address =
            configuration.host.contains(":") ? "[\(configuration.host)]:\(port)" : "\(configuration.host):\(port)"
        self.channel = channel
        self.inbound = inbound
        self.store = store
        self.core = core
    }

    /// Our node id.
    package var id: NodeID { core.ownID }

    /// Usable nodes in the table (those that answered us and are not bad).
    package var nodeCount: Int { core.table.usableCount }

    /// Works the node until ``close()``: packets in, timers, saves.
    package func run() async {
        await withDiscardingTaskGroup { group in
            // Answers to our queries and everything else each have a task: a flood of the others
            // waits its turn behind them instead of crowding them out.
            for lane in [inbound.awaited, inbound.others] {
                group.addTask {
                    for await datagram in lane {
                        guard let address = PeerAddress(socketAddress: datagram.remote) else { continue }
                        await self.received(datagram.bytes, from: address)
                    }
                }
            }
            group.addTask {
                let interval = self.configuration.tickInterval
                while await !self.closed {
                    try? await Task.sleep(for: interval)
                    await self.tick()
                }
            }
        }
    }

    /// Saves the table, closes the socket and ends every lookup; ``run()`` returns.
    package func close() async {
        guard !closed else { return }
        closed = true
        await save()
        for asker in askers.values { asker.finish() }
        askers.removeAll()
        while let entry = waiting.popFirst() { entry.continuation.finish() }
        if let sharedHandler {
            // The socket goes on for uTP: only our handler leaves it.
            try? await channel.pipeline.removeHandler(sharedHandler).get()
            inbound.finish()
        } else {
            try? await channel.close()
        }
    }

    /// Looks up the peers of `infoHash`, and with `announcePort` announces us on it to the closest
    /// nodes: the peers come in batches as nodes return them; the stream ends with the lookup (at
    /// once when too many lookups run). Ending the stream early cancels the lookup.
    package func lookup(infoHash: [UInt8], announcePort: UInt16?) -> AsyncStream<[PeerAddress]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [PeerAddress].self)
        guard !closed, let target = NodeID(infoHash) else {
            continuation.finish()
            return stream
        }
        let asked = WaitingLookups.Entry(target: target, announcePort: announcePort, continuation: continuation)
        if core.lookupCount >= Self.lookupSlots || !waiting.isEmpty {
            // A daemon with thousands of torrents asks for more lookups at once than run at once.
            guard let ticket = waiting.append(asked) else {
                continuation.finish()
                return stream
            }
            continuation.onTermination = { [weak self] _ in
                Task { await self?.cancelWaiting(ticket) }
            }
            return stream
        }
        start(asked)
        return stream
    }

    /// Lookups of torrents that run at once; the rest of ``DHTNodeCore/maxLookups`` is kept for the
    /// node's own (bootstrap, refresh).
    static let lookupSlots = DHTNodeCore.maxLookups - 4

    /// Starts a lookup asked for by `asked`.
    private func start(_ asked: WaitingLookups.Entry) {
        var step = DHTNodeCore.Step()
        // While the table is small, the bootstrap nodes are asked too: they know the swarm first.
        let seeds = core.table.usableCount < RoutingTable.bucketSize ? bootstrapAddresses : []
        guard
            let lookup = core.startLookup(
                .getPeers, target: asked.target, announcePort: asked.announcePort, seeds: seeds, now: .now,
                into: &step)
        else {
            asked.continuation.finish()
            return
        }
        askers[lookup] = asked.continuation
        asked.continuation.onTermination = { [weak self] _ in
            Task { await self?.cancel(lookup) }
        }
        perform(step)
    }

    /// Starts waiting lookups while slots are free.
    private func startWaiting() {
        while !closed, core.lookupCount < Self.lookupSlots, let next = waiting.popFirst() {
            start(next)
        }
    }

    private func cancelWaiting(_ ticket: Int) {
        waiting.remove(ticket)
    }

    /// The node's state now, as `btq dht` shows it.
    package func status() -> DHTStatus {
        currentStatus(now: .now, wallClock: .now)
    }

    /// The core's status with what the socket's sorting dropped before the core saw it.
    private func currentStatus(now: ContinuousClock.Instant, wallClock: Timestamp) -> DHTStatus {
        var status = core.status(address: address, startedAt: startedAt, now: now, wallClock: wallClock)
        let dropped = inbound.dropped
        status.packetsIn += dropped
        status.queriesDropped += dropped
        return status
    }

    private func cancel(_ lookup: Int) {
        guard askers.removeValue(forKey: lookup) != nil else { return }
        core.cancelLookup(lookup)
        startWaiting()
    }

    private func received(_ bytes: [UInt8], from address: PeerAddress) {
        guard !closed else { return }
        perform(core.received(bytes, from: address, now: .now))
    }

    private func tick() async {
        guard !closed else { return }
        let now = ContinuousClock.now
        perform(core.tick(now: now))
        inbound.prune(now: now)
        if core.table.usableCount == 0, now >= nextBootstrap, core.lookupCount < DHTNodeCore.maxLookups {
            bootstrapWait = min(bootstrapWait * 2, .seconds(300))
            await bootstrap()
        } else if core.table.usableCount > 0 {
            bootstrapWait = .seconds(5)
        }
        if now >= nextSave {
            nextSave = now + configuration.saveInterval
            await save()
        }
    }

    /// Looks up our own id from the saved nodes and the bootstrap nodes (their names resolved anew).
    private func bootstrap() async {
        let names = configuration.bootstrapNodes
        let family = self.family
        let resolved = (try? await NIOBlockingExecutor().run { DHTBootstrap.resolve(names, family: family) }) ?? []
        bootstrap(from: resolved)
    }

    /// Looks up our own id from the saved nodes and `addresses`, kept as the bootstrap nodes.
    private func bootstrap(from addresses: [PeerAddress]) {
        bootstrapAddresses = addresses
        guard !closed else { return }
        nextBootstrap = .now + bootstrapWait
        var step = DHTNodeCore.Step()
        _ = core.startLookup(.findNode, target: core.ownID, seeds: addresses, reports: false, now: .now, into: &step)
        perform(step)
    }

    private func save() async {
        guard let store else { return }
        let now = ContinuousClock.now
        let wallClock = Timestamp.now
        let state = DHTSavedState(
            family: family, id: core.ownID, nodes: core.nodesToSave(now: now, wallClock: wallClock),
            status: currentStatus(now: now, wallClock: wallClock))
        _ = try? await NIOBlockingExecutor().run { try store.saveDHTState(state) }
    }

    /// Sends the step's packets (dropped when the socket cannot take more: UDP) and hands its events
    /// to the lookups' askers.
    private func perform(_ step: DHTNodeCore.Step) {
        for packet in step.packets {
            guard channel.isWritable, let host = packet.address.numericHost,
                let remote = try? SocketAddress(ipAddress: host, port: Int(packet.address.port))
            else { continue }
            var buffer = channel.allocator.buffer(capacity: packet.bytes.count)
            buffer.writeBytes(packet.bytes)
            if packet.isQuery { inbound.queried(remote, at: .now) }
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
        }
        for event in step.events {
            switch event {
            case .peers(let lookup, let peers):
                askers[lookup]?.yield(peers)
            case .finished(let lookup):
                askers.removeValue(forKey: lookup)?.finish()
            }
        }
        if step.events.contains(where: { if case .finished = $0 { true } else { false } }) { startWaiting() }
    }
}

extension PeerAddress {
    /// The host as a socket API takes it, for numeric addresses only.
    var numericHost: String? {
        if case .name = host { return nil }
        return hostString
    }
}

/// Turns the `host:port` texts of the bootstrap setting into addresses of one family.
enum DHTBootstrap {
    /// The addresses of `texts` in `family`: numeric ones as they are, names through the system's
    /// resolver (blocking: call it off the cooperative pool). Unreadable texts and names that do not
    /// resolve are left out.
    static func resolve(_ texts: [String], family: DHTFamily) -> [PeerAddress] {
        var out: [PeerAddress] = []
        for text in texts.prefix(32) {
            guard let address = PeerAddress(parsing: text) else { continue }
            guard case .name(let name) = address.host else {
                if DHTNodeCore.belongs(address, to: family) { out.append(address) }
                continue
            }
            var hints = addrinfo()
            hints.ai_family = family == .ipv4 ? AF_INET : AF_INET6
            hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(name, String(address.port), &hints, &result) == 0, let first = result else { continue }
            defer { freeaddrinfo(first) }
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let entry = cursor, out.count < 64 {
                if let socketAddress = entry.pointee.ai_addr,
                    let resolved = try? SocketAddress(socketAddress, length: entry.pointee.ai_addrlen),
                    let peer = PeerAddress(socketAddress: resolved), !out.contains(peer)
                {
                    out.append(peer)
                }
                cursor = entry.pointee.ai_next
            }
        }
        return out
    }
}

extension SocketAddress {
    /// The address `pointer` points to (`length` bytes).
    fileprivate init(_ pointer: UnsafeMutablePointer<sockaddr>, length: socklen_t) throws {
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(pointer).load(as: sockaddr_in.self)
            self.init(v4, host: "")
        case AF_INET6:
            let v6 = UnsafeRawPointer(pointer).load(as: sockaddr_in6.self)
            self.init(v6, host: "")
        default:
            throw SocketAddressError.unsupported
        }
    }
}
