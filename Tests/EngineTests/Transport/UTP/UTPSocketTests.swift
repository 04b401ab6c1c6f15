import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// Two uTP sockets on 127.0.0.1 talking through NIO: channels with ByteBuffers in and out, the
/// accept path, limits on SYNs, and datagrams that are not uTP passed on.
@Suite struct UTPSocketTests {
    /// Collects what a channel reads, completing when `expected` bytes arrived.
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var bytes: [UInt8] = []
        /// The largest buffer read.
        var largestRead = 0
        let expected: Int
        let done: EventLoopPromise<[UInt8]>

        init(expected: Int, done: EventLoopPromise<[UInt8]>) {
            self.expected = expected
            self.done = done
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            largestRead = max(largestRead, buffer.readableBytes)
            bytes += Array(buffer.readableBytesView)
            if bytes.count >= expected { done.succeed(bytes) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(bytes)
        }
    }

    /// 4 MB one way over a real UDP socket pair arrives exact, in buffers of at most
    /// ``UTPChannel/deliveryChunk`` bytes; the sender's channel closes cleanly.
    @Test func transferOverLoopback() async throws {
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let data = UTPConnectionTests.randomBytes(4_000_000, seed: 21)
        let done = server.channel.eventLoop.makePromise(of: [UInt8].self)
        let expected = data.count
        let collector = Mutex<Collector?>(nil)
        try await server.setAcceptor { channel in
            let handler = Collector(expected: expected, done: done)
            collector.withLock { $0 = handler }
            return (try? channel.pipeline.syncOperations.addHandler(handler)) != nil
        }
        let channel = try await client.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port)), initializer: { $0 })
        try await channel.writeAndFlush(ByteBuffer(bytes: data))
        let received = try await done.futureResult.get()
        #expect(UTPConnectionTests.mismatch(received, data) == nil)
        let largest = try await server.channel.eventLoop.submit {
            collector.withLock { $0?.largestRead ?? 0 }
        }.get()
        #expect(largest > 0 && largest <= UTPChannel.deliveryChunk, "largest read: \(largest) bytes")
        // Over loopback each side told the other its read limit: the data went in large packets.
        let payload = try await client.channel.eventLoop.submit {
            (channel as? UTPChannel)?.connection.payloadSize
        }.get()
        #expect(payload == UTPConfiguration().loopbackPayload)
        try await channel.close()
        await client.close()
        await server.close()
    }

    /// Holds the reads asked of a channel until ``open()``.
    final class ReadGate: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = Never
        private var held: ChannelHandlerContext?
        private var isOpen = false

        func read(context: ChannelHandlerContext) {
            if isOpen { context.read() } else { held = context }
        }

        func open() {
            isOpen = true
            held?.read()
            held = nil
        }
    }

    /// Collects the datagrams a raw UDP socket receives, decoded.
    final class DatagramLog: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        var packets: [UTPPacket] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let packet = try? UTPPacket(decoding: unwrapInboundIn(data).data) { packets.append(packet) }
        }
    }

    /// A reader that holds its reads lets the receive window close; when it reads again, the window
    /// update goes out at once, with nothing from the peer to answer. The peer here is a raw socket
    /// that, like libtorrent, sends nothing more into a closed window: the update waited for its next
    /// datagram, which never came, or for a keep-alive 29 s later, and downloads from libtorrent over
    /// uTP sat for up to 25 s near their end.
    @Test func reopenedWindowIsAnnouncedAtOnce() async throws {
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let gate = ReadGate()
        let done = server.channel.eventLoop.makePromise(of: [UInt8].self)
        let payload = 1400
        let count = (UTPConfiguration().receiveBuffer + payload - 1) / payload + 8
        let collector = Collector(expected: count * payload, done: done)
        try await server.setAcceptor { channel in
            (try? channel.pipeline.syncOperations.addHandlers([gate, collector])) != nil
        }
        let log = DatagramLog()
        let peer = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(log) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port))
        let packets = { try await peer.eventLoop.submit { log.packets }.get() }
        try await peer.writeAndFlush(
            AddressedEnvelope(
                remoteAddress: target,
                data: UTPPacket(type: .syn, connectionID: 600, windowSize: 1 << 20, sequenceNumber: 1, ackNumber: 0)
                    .encoded()))
        #expect(try await poll(timeout: .seconds(10)) { try await packets().contains { $0.type == .state } })
        guard let answer = try await packets().first(where: { $0.type == .state }) else { return }
        // More than the receive window, in rounds the socket buffers hold; then nothing more.
        for round in stride(from: 0, to: count, by: 100) {
            for index in round..<min(count, round + 100) {
                let data = UTPPacket(
                    type: .data, connectionID: 601, windowSize: 1 << 20, sequenceNumber: UInt16(2 + index),
                    ackNumber: answer.sequenceNumber &- 1,
                    payload: ByteBuffer(repeating: UInt8(truncatingIfNeeded: index), count: payload))
                peer.write(AddressedEnvelope(remoteAddress: target, data: data.encoded()), promise: nil)
            }
            try await peer.writeAndFlush(
                AddressedEnvelope(
                    remoteAddress: target,
                    data: UTPPacket(type: .state, connectionID: 601, sequenceNumber: 2, ackNumber: 0).encoded()))
            _ = try await poll(timeout: .seconds(5)) {
                try await packets().last.map { $0.ackNumber >= UInt16(1 + min(count, round + 100)) } ?? false
            }
        }
        let closed = try await poll(timeout: .seconds(10)) {
            try await packets().last.map { $0.windowSize < UInt32(payload) } ?? false
        }
        #expect(closed, "the receive window closed while the reader held its reads")
        let before = try await packets().count
        try await server.channel.eventLoop.submit { gate.open() }.get()
        let announced = try await poll(timeout: .seconds(10)) {
            try await packets().dropFirst(before).contains { $0.windowSize >= UInt32(payload) }
        }
        #expect(announced, "the reopened window was announced without a datagram from the peer")
        try await peer.close()
        await server.close()
    }

    /// Three connections between the same two sockets, written at once: each channel gets exactly
    /// its own bytes (the multiplexer remembers the connection the last datagram went to, so datagrams
    /// of interleaved connections switch it back and forth), and a fourth opened after the first closed
    /// is told apart from it.
    @Test func interleavedConnectionsKeepTheirBytes() async throws {
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let size = 300_000
        let payloads = (0..<4).map { UTPConnectionTests.randomBytes(size, seed: UInt64(40 + $0)) }
        let promises = Mutex<[EventLoopPromise<[UInt8]>]>([])
        try await server.setAcceptor { channel in
            let done = channel.eventLoop.makePromise(of: [UInt8].self)
            promises.withLock { $0.append(done) }
            return (try? channel.pipeline.syncOperations.addHandler(Collector(expected: size, done: done))) != nil
        }
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port))
        var channels: [any Channel] = []
        for _ in 0..<3 { channels.append(try await client.connect(to: address, initializer: { $0 })) }
        for (channel, payload) in zip(channels, payloads) {
            channel.writeAndFlush(ByteBuffer(bytes: payload), promise: nil)
        }
        var received: [[UInt8]] = []
        for index in 0..<3 {
            let promise = try await server.channel.eventLoop.submit { promises.withLock { $0[index] } }.get()
            received.append(try await promise.futureResult.get())
        }
        #expect(Set(received) == Set(payloads.prefix(3)))
        try await channels[0].close()
        let fourth = try await client.connect(to: address, initializer: { $0 })
        try await fourth.writeAndFlush(ByteBuffer(bytes: payloads[3]))
        let last = try await server.channel.eventLoop.submit { promises.withLock { $0.last! } }.get()
        #expect(try await last.futureResult.get() == payloads[3])
        for channel in channels.dropFirst() + [fourth] { try await channel.close() }
        await client.close()
        await server.close()
    }

    /// A socket with no connection runs no timer: it starts with the first connection, on both sides,
    /// and stops once the last has gone.
    @Test func theTimerRunsOnlyWhileThereAreConnections() async throws {
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        func runs(_ socket: UTPSocket) async throws -> Bool {
            let multiplexer = socket.multiplexer
            return try await multiplexer.eventLoop.submit { multiplexer.timerRuns }.get()
        }
        let serverRuns = try await runs(server)
        let clientRuns = try await runs(client)
        #expect(!serverRuns && !clientRuns)
        try await server.setAcceptor { _ in true }
        let channel = try await client.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port)), initializer: { $0 })
        #expect(try await runs(client))
        let accepted = try await poll(timeout: .seconds(20)) { try await runs(server) }
        #expect(accepted)
        try await channel.close()
        let stopped = try await poll(timeout: .seconds(60)) {
            let multiplexer = client.multiplexer
            let count = try await multiplexer.eventLoop.submit { multiplexer.count }.get()
            let running = try await runs(client)
            return count == 0 && !running
        }
        #expect(stopped)
        await client.close()
        await server.close()
    }

    /// A SYN to a socket with no acceptor, and one beyond the per-address handshake limit, are
    /// refused: the connecting side fails instead of hanging.
    @Test func refusedConnectionFails() async throws {
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        await #expect(throws: UTPError.self) {
            _ = try await client.connect(
                to: try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port)), initializer: { _ in })
        }
        await client.close()
        await server.close()
    }

    /// A flood of SYNs with distinct ids from one address: at most the per-address limit are kept,
    /// and garbage datagrams change nothing.
    @Test func synFloodFromOneAddressBounded() async throws {
        // Half-open connections are let go after `acceptTimeout`; here they are kept for the whole test
        // (however slow the machine), so every SYN is either kept or refused.
        var configuration = UTPConfiguration()
        configuration.acceptTimeout = 600_000_000
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0, configuration: configuration)
        try await server.setAcceptor { _ in true }
        let flooder = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port))
        var random = SplitMix64(seed: 3)
        let multiplexer = server.multiplexer
        // In rounds of 100, each read before the next (a socket buffer holds only so many).
        for round in 0..<20 {
            for index in (round * 100)..<(round * 100 + 100) {
                let packet: ByteBuffer
                if index % 2 == 0 {
                    packet = UTPPacket(type: .syn, connectionID: UInt16(index), sequenceNumber: 1, ackNumber: 0)
                        .encoded()
                } else {
                    var bytes = (0..<(1 + random.next(below: 99))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    bytes[0] = 0x41
                    packet = ByteBuffer(bytes: bytes)
                }
                try await flooder.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: packet))
            }
            // Every datagram was either taken (a kept connection) or refused.
            let seen = try await poll(timeout: .seconds(20)) {
                try await multiplexer.eventLoop.submit { multiplexer.count + multiplexer.refused }.get()
                    >= round * 100 + 100
            }
            #expect(seen)
        }
        let count = try await multiplexer.eventLoop.submit { multiplexer.count }.get()
        #expect(count == multiplexer.limits.maxHandshakesPerAddress)
        try await flooder.close()
        await server.close()
    }
}
