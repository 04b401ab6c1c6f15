import NIOCore
import NIOPosix
import Testing

@testable import Engine

/// An accepted connection handed from the event loop to a task: dropped on the way it is closed,
/// not a trap (NIO traps when an active async channel goes without its writer finished).
@Suite(.timeLimit(.minutes(1))) struct PendingConnectionTests {
    typealias Pending = PendingConnection<ByteBuffer, ByteBuffer>

    /// Accepts one loopback connection through NIO's async server bootstrap (as ``PeerListener``
    /// does) and calls `body` with it, pending (the only reference), and the client's end.
    static func withAccepted<Result: Sendable>(
        _ body: (inout Pending?, NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws -> Result
    ) async throws -> Result {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    Pending(try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel))
                }
            }
        let client = try await ClientBootstrap(group: group)
            .connect(host: "127.0.0.1", port: server.channel.localAddress?.port ?? 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await server.executeThenClose { inbound in
            var accepted = inbound.makeAsyncIterator()
            var pending = try await accepted.next()
            return try await body(&pending, client)
        }
    }

    /// What the client reads until the other end closes.
    static func readToEnd(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws -> [UInt8] {
        try await client.executeThenClose { inbound, _ in
            var received: [UInt8] = []
            for try await chunk in inbound { received += chunk.readableBytesView }
            return received
        }
    }

    @Test func aDroppedConnectionIsClosed() async throws {
        let received = try await Self.withAccepted { pending, client in
            #expect(pending != nil)
            pending = nil
            return try await Self.readToEnd(client)
        }
        #expect(received == [])
    }

    @Test func aTakenConnectionIsTheTakers() async throws {
        let received = try await Self.withAccepted { pending, client in
            let taken = try #require(pending?.take())
            #expect(pending?.take() == nil)
            pending = nil
            // Still open and writable: the drop above left it alone.
            try await taken.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(bytes: Array("still mine".utf8)))
            }
            return try await Self.readToEnd(client)
        }
        #expect(received == Array("still mine".utf8))
    }
}
