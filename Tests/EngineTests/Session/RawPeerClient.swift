import NIOCore
import NIOPosix
import Synchronization

@testable import Engine

/// A bare TCP client on loopback for admission tests: sends the bytes it is given, counts the bytes it
/// receives, and notices when the other side closes the connection.
final class RawPeerClient: Sendable {
    let channel: any Channel
    private let counter: Counter

    private final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex(0)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let count = unwrapInboundIn(data).readableBytes
            bytes.withLock { $0 += count }
        }
    }

    /// Connects to `127.0.0.1:port` from `localHost` (any address of 127.0.0.0/8).
    init(port: UInt16, from localHost: String = "127.0.0.1") async throws {
        let counter = Counter()
        self.counter = counter
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: localHost, port: 0))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) }
            }
            .connect(host: "127.0.0.1", port: Int(port)).get()
    }

    /// The bytes of a handshake for `infoHash` from a fresh peer id.
    static func handshake(_ infoHash: [UInt8]) -> [UInt8] {
        [19] + PeerHandshake.protocolName + [UInt8](repeating: 0, count: 8) + infoHash + PeerID.generate()
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Bytes received so far.
    var received: Int { counter.bytes.withLock { $0 } }

    /// The other side closed the connection (or it was closed here).
    var isClosed: Bool { !channel.isActive }

    /// Whether it got a whole handshake back.
    var answered: Bool { received >= PeerHandshake.encodedLength }

    func close() async {
        try? await channel.close()
    }
}
