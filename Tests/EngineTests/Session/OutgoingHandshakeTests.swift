import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Engine

/// Peers btq dials that accept the connection and then never send a (whole) handshake: each attempt
/// ends after the handshake timeout, and an address that keeps doing it is forgotten.
@Suite(.timeLimit(.minutes(5))) struct OutgoingHandshakeTests {
    /// A server on 127.0.0.1 that accepts connections, sends `greeting` (say, half a handshake) and
    /// then nothing; it counts the connections it accepted and those that were closed.
    final class SilentServer: Sendable {
        let channel: any Channel
        private let counts = Counts()

        private final class Counts: Sendable {
            let value = Mutex((accepted: 0, closed: 0))
        }

        private final class Handler: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let counts: Counts
            let greeting: [UInt8]

            init(counts: Counts, greeting: [UInt8]) {
                self.counts = counts
                self.greeting = greeting
            }

            func channelActive(context: ChannelHandlerContext) {
                counts.value.withLock { $0.accepted += 1 }
                if !greeting.isEmpty { context.writeAndFlush(NIOAny(ByteBuffer(bytes: greeting)), promise: nil) }
            }

            func channelInactive(context: ChannelHandlerContext) {
                counts.value.withLock { $0.closed += 1 }
            }
        }

        init(greeting: [UInt8] = []) async throws {
            let counts = counts
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(Handler(counts: counts, greeting: greeting))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        var address: PeerAddress { PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(channel.localAddress!.port!)) }
        var accepted: Int { counts.value.withLock { $0.accepted } }
        var closed: Int { counts.value.withLock { $0.closed } }

        func close() async { try? await channel.close() }
    }

    static func configuration() -> SessionConfiguration {
        var configuration = TorrentSessionTests.quickConfiguration()
        configuration.handshakeTimeout = .milliseconds(300)
        configuration.maxConnectAttempts = 2
        return configuration
    }

    @Test(arguments: [0, 30])
    func aSessionDropsAndThenForgetsAPeerThatNeverHandshakes(greetingBytes: Int) async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 71)
        let greeting = Array(RawPeerClient.handshake(fixture.metainfo.infoHashes.wireHash).prefix(greetingBytes))
        let server = try await SilentServer(greeting: greeting)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: Self.configuration())
        let run = Task { await session.run() }
        await session.addPeers([server.address], source: .tracker)
        try await SessionExtensionTests.waitUntil("a first attempt that timed out") {
            server.closed >= 1
        }
        // The second failure in a row forgets the address: no more attempts.
        try await SessionExtensionTests.waitUntil("the address forgotten") {
            await session.core.swarm.candidates[server.address] == nil
        }
        try await SessionExtensionTests.waitUntil("both attempts closed at the server") { server.closed >= 2 }
        #expect(server.accepted == 2)
        await session.stop()
        _ = await run.value
        await server.close()
    }

    @Test func aMetadataFetchDropsAndThenForgetsAPeerThatNeverHandshakes() async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 72)
        let server = try await SilentServer()
        let fetcher = MetadataFetcher(infoHashes: fixture.metainfo.infoHashes, configuration: Self.configuration())
        let run = Task { await fetcher.run() }
        await fetcher.addPeers([server.address], source: .magnet)
        try await SessionExtensionTests.waitUntil("the address forgotten") {
            await fetcher.candidates[server.address] == nil
        }
        try await SessionExtensionTests.waitUntil("both attempts closed at the server") { server.closed >= 2 }
        #expect(server.accepted == 2)
        await fetcher.stop()
        _ = await run.value
        await server.close()
    }
}
