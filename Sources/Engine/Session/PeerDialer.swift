import NIOCore
import NIOPosix

/// Opens outgoing peer connections with the peer wire pipeline.
enum PeerDialer {
    /// Inbound elements are batches (one per socket read, see ``PeerFrameBatcher``). Each batch's
    /// blocks are slices of NIO's receive buffers (up to 64 KiB a read, a few reads a batch), held until
    /// the session copies them into their pieces: at most 8 batches wait, the rest waits in the kernel's
    /// socket buffer (with 16, NIO's buffers were 6.9 MiB of a 1 GiB download's peak heap).
    static let channelConfiguration = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>.Configuration(
        backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8))

    /// What an outgoing connection runs under the peer wire: an MSE handshake for the torrent's
    /// info-hash offering what `policy` allows, or nothing (plaintext).
    struct Encryption: Sendable {
        let infoHash: [UInt8]
        let policy: EncryptionPolicy
        /// The whole MSE handshake must be done within this.
        var timeout: Duration = PeerEncryption.handshakeTimeout
    }

    /// Connects to `address`, sets up the codec and batcher and, with `encryption`, runs the MSE
    /// handshake (within ``PeerEncryption/handshakeTimeout``) before returning.
    ///
    /// - Throws: the connection's error, or an ``MSEError`` when the encrypted handshake fails (the
    ///   connection is then closed).
    static func connect(
        to address: PeerAddress, group: any EventLoopGroup, timeout: Duration, maxFrameLength: Int,
        budget: PeerMemoryBudget? = nil, encryption: Encryption? = nil
    ) async throws -> (channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>, security: PeerTransportSecurity) {
        let (channel, handshake) = try await bootstrap(
            to: address, group: group, timeout: timeout, maxFrameLength: maxFrameLength, budget: budget,
            encryption: encryption)
        return try await finishHandshake(channel, handshake)
    }

    /// `channel` once its MSE `handshake` (if any) succeeded; closed when it failed.
    static func finishHandshake(
        _ channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>,
        _ handshake: EventLoopFuture<PeerTransportSecurity>?
    ) async throws -> (channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>, security: PeerTransportSecurity) {
        guard let handshake else { return (channel, .plain) }
        do {
            return (channel, try await handshake.get())
        } catch {
            // Closed through the async channel, so that its writer is finished.
            try? await channel.executeThenClose { _, _ in }
            throw error
        }
    }

    /// A TCP connection made, its MSE handshake (if any) under way.
    typealias Connecting = (
        channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>, handshake: EventLoopFuture<PeerTransportSecurity>?
    )

    /// Connects over TCP with the peer-wire pipeline (MSE first when `encryption`): returns once the
    /// TCP connection is up, before the MSE handshake is done (``finishHandshake(_:_:)`` waits for it).
    ///
    /// The pipeline is built once the connection is up, reads starting only then: a dial that is
    /// refused or times out, most dials to a gone peer, costs the socket alone, not a pipeline built and
    /// torn down.
    static func bootstrap(
        to address: PeerAddress, group: any EventLoopGroup, timeout: Duration, maxFrameLength: Int,
        budget: PeerMemoryBudget?, encryption: Encryption?
    ) async throws -> Connecting {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(ChannelOptions.autoRead, value: false)
        let connected: EventLoopFuture<any Channel>
        // A numeric address is connected to as it is: by host text, NIO would resolve it through
        // getaddrinfo on a thread of its own and race its families (Happy Eyeballs), a fifth of the CPU
        // of a dial to a gone peer.
        if let host = address.numericHost, let target = try? SocketAddress(ipAddress: host, port: Int(address.port)) {
            connected = bootstrap.connect(to: target)
        } else {
            connected = bootstrap.connect(host: address.hostString, port: Int(address.port))
        }
        return try await connected.flatMap { channel in
            let setUp: @Sendable () throws -> Connecting = {
                try pipeline(of: channel, maxFrameLength: maxFrameLength, budget: budget, encryption: encryption)
            }
            // On the channel's event loop, so that nothing happens to the channel meanwhile.
            guard channel.eventLoop.inEventLoop else { return channel.eventLoop.submit(setUp) }
            return channel.eventLoop.makeCompletedFuture(withResultOf: setUp)
        }.get()
    }

    /// Builds the peer-wire pipeline of a connected TCP `channel`, on its event loop, then lets it read;
    /// closes the channel when that fails.
    private static func pipeline(
        of channel: any Channel, maxFrameLength: Int, budget: PeerMemoryBudget?, encryption: Encryption?
    ) throws -> Connecting {
        do {
            // Closed since it connected (a reset): the async channel would never see it end.
            guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
            let connecting = try addPeerWire(
                to: channel, maxFrameLength: maxFrameLength, budget: budget, encryption: encryption)
            if let options = channel.syncOptions {
                try options.setOption(ChannelOptions.autoRead, value: true)
            } else {
                channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in channel.close(promise: nil) }
            }
            return connecting
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Adds the peer-wire pipeline to `channel`, on its event loop: MSE first when `encryption` (its
    /// handshake under way), then the codec and the batcher, wrapped in an async channel. TCP and uTP alike.
    static func addPeerWire(
        to channel: any Channel, maxFrameLength: Int, budget: PeerMemoryBudget?, encryption: Encryption?
    ) throws -> Connecting {
        let sync = channel.pipeline.syncOperations
        let handshake = try encryption.map {
            try sync.addMSEInitiator(infoHash: $0.infoHash, policy: $0.policy, timeout: $0.timeout)
        }
        try sync.addPeerWireCodec(maxFrameLength: maxFrameLength, budget: budget)
        try sync.addHandler(PeerFrameBatcher())
        let wrapped = try NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>(
            wrappingChannelSynchronously: channel, configuration: channelConfiguration)
        return (wrapped, handshake)
    }
}
