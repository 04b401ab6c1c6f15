import NIOCore
import NIOPosix

/// Opens outgoing peer connections with the peer wire pipeline.
enum PeerDialer {
    /// Inbound elements are batches (one per socket read, see ``PeerFrameBatcher``).
    static let channelConfiguration = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>.Configuration(
        backPressureStrategy: .init(lowWatermark: 4, highWatermark: 16))

    /// Connects to `address` and sets up the codec and batcher.
    static func connect(
        to address: PeerAddress, group: any EventLoopGroup, timeout: Duration, maxFrameLength: Int
    ) async throws -> NIOAsyncChannel<[PeerWireFrame], PeerWireFrame> {
        try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .connect(host: address.hostString, port: Int(address.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addPeerWireCodec(maxFrameLength: maxFrameLength)
                    try channel.pipeline.syncOperations.addHandler(PeerFrameBatcher())
                    return try NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>(
                        wrappingChannelSynchronously: channel, configuration: channelConfiguration)
                }
            }
    }
}
