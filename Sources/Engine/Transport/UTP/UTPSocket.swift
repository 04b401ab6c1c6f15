import NIOCore
import NIOPosix

/// The UDP socket on the listen port that uTP (and, when on, the DHT) use: uTP datagrams go to its
/// ``UTPMultiplexer``, the rest on down the pipeline (where the DHT's handler sits).
package final class UTPSocket: Sendable {
    /// The datagram channel.
    let channel: any Channel
    /// The uTP connections on it.
    let multiplexer: UTPMultiplexer

    private init(channel: any Channel, multiplexer: UTPMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    /// The UDP port bound.
    package var port: UInt16 { channel.localAddress?.port.map { UInt16(clamping: $0) } ?? 0 }

    /// Binds `host:port` (port 0: any free port).
    static func bind(
        host: String, port: UInt16, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        limits: UTPMultiplexer.Limits = .init(), configuration: UTPConfiguration = .init()
    ) async throws -> UTPSocket {
        let loop = group.next()
        // 16 datagrams per read call; NIO splits the receive buffer evenly among them, so each slot
        // must hold a whole datagram (uTP's are under 1,500 bytes but to loopback peers told our read
        // limit, the slot: 4 KiB) or, with receive offload, a whole aggregate (64 KiB: 1 MiB a read).
        // Fewer slots cost more than they save: from a peer that does not send GSO writes every read
        // is one datagram, and with 4 slots btq from libtorrent over uTP took 9.5 s against 8.8 s
        // (1 GiB).
        let receiveOffload = configuration.udpOffload && System.supportsUDPReceiveOffload
        let slots = 16
        let slotSize = receiveOffload ? UTPOffload.aggregateReadCapacity : 4096
        // Told loopback peers (``UTPConfiguration/loopbackPayload``): at most what one UDP datagram
        // carries.
        let readLimit = min(slotSize, UTPOffload.maxSegmentedBytes)
        let multiplexer = UTPMultiplexer(
            eventLoop: loop, limits: limits, configuration: configuration, readLimit: readLimit)
        var bootstrap = DatagramBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(ChannelOptions.socketOption(.so_sndbuf), value: 4 << 20)
            .channelOption(ChannelOptions.datagramVectorReadMessageCount, value: slots)
            .channelOption(
                ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: slots * slotSize))
        if receiveOffload {
            // The kernel reports each aggregate's datagram size; ``UTPDatagramHandler`` cuts it up.
            bootstrap =
                bootstrap
                .channelOption(ChannelOptions.datagramReceiveOffload, value: true)
                .channelOption(ChannelOptions.datagramReceiveSegmentSize, value: true)
        }
        if host.contains(":") {
            bootstrap = bootstrap.channelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        let channel =
            try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UTPDatagramHandler(multiplexer))
                    multiplexer.attach(channel, acceptor: nil)
                }
            }
            .bind(host: host, port: Int(port)).get()
        return UTPSocket(channel: channel, multiplexer: multiplexer)
    }

    /// Who is handed incoming connections: sets up the pipeline on the loop and returns whether it
    /// takes the connection (false: refused with a RESET).
    func setAcceptor(_ acceptor: @escaping @Sendable (any Channel) -> Bool) async throws {
        try await channel.eventLoop.submit { [multiplexer] in
            multiplexer.setAcceptor { acceptor($0) }
        }.get()
    }

    /// Opens a uTP connection to `address` with `initializer` setting up its pipeline; returns what
    /// `initializer` returned when the peer answered (or throws ``UTPError`` when it did not).
    func connect<Result: Sendable>(
        to address: SocketAddress, initializer: @escaping @Sendable (any Channel) throws -> Result
    ) async throws -> Result {
        try await multiplexer.connect(to: address, initializer: initializer).get()
    }

    /// Closes every connection and the socket without waiting.
    package func closeSoon() {
        channel.eventLoop.execute { [multiplexer, channel] in
            multiplexer.shutdown()
            channel.close(promise: nil)
        }
    }

    /// Closes every connection and the socket.
    package func close() async {
        try? await channel.eventLoop.submit { [multiplexer] in multiplexer.shutdown() }.get()
        try? await channel.close()
    }
}
