import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Engine

/// UDP offload on the uTP socket: cutting a joined read into its datagrams, joining outgoing
/// datagrams into GSO writes, and, over real sockets on 127.0.0.1, uTP data and DHT-style datagrams
/// through a socket with offload on.
@Suite(.timeLimit(.minutes(1))) struct UTPOffloadTests {
    static let here = try! SocketAddress(ipAddress: "127.0.0.1", port: 6881)
    static let there = try! SocketAddress(ipAddress: "127.0.0.1", port: 6882)

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    static func split(_ bytes: [UInt8], segmentSize: Int?) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        UTPOffload.forEachDatagram(in: ByteBuffer(bytes: bytes), segmentSize: segmentSize) {
            parts.append(Array($0.readableBytesView))
        }
        return parts
    }

    /// A joined read is cut at the segment size; the last datagram may be shorter; nothing is lost
    /// or copied out of order.
    @Test(arguments: [
        (300, 100, [100, 100, 100]), (250, 100, [100, 100, 50]), (1401, 1400, [1400, 1]),
        (7, 1, [1, 1, 1, 1, 1, 1, 1]),
    ])
    func splitsAtTheSegmentSize(total: Int, segmentSize: Int, sizes: [Int]) {
        let bytes = Self.bytes(total, seed: UInt64(total))
        let parts = Self.split(bytes, segmentSize: segmentSize)
        #expect(parts.map(\.count) == sizes)
        #expect(Array(parts.joined()) == bytes)
    }

    /// No segment size, one not below the read's size, zero or negative: the read is one datagram.
    @Test(arguments: [nil, 0, -1, 300, 301, Int.max, Int.min])
    func oneDatagramWithoutAUsableSegmentSize(segmentSize: Int?) {
        let bytes = Self.bytes(300, seed: 1)
        #expect(Self.split(bytes, segmentSize: segmentSize) == [bytes])
    }

    /// An empty read is one empty datagram, whatever the segment size.
    @Test func anEmptyReadIsOneDatagram() {
        #expect(Self.split([], segmentSize: 100) == [[]])
    }

    /// The reader index is where the read starts.
    @Test func splitsFromTheReaderIndex() {
        var buffer = ByteBuffer(bytes: [9, 9, 1, 2, 3, 4, 5])
        buffer.moveReaderIndex(forwardBy: 2)
        var parts: [[UInt8]] = []
        UTPOffload.forEachDatagram(in: buffer, segmentSize: 2) { parts.append(Array($0.readableBytesView)) }
        #expect(parts == [[1, 2], [3, 4], [5]])
    }

    /// Seeded random packets: some with a selective ack, some with payloads of up to 1,400 bytes,
    /// some state packets with none. With `datagramSizes`, packets without a selective ack whose
    /// datagrams have those sizes (20 bytes of header and the rest payload).
    static func packets(seed: UInt64, datagramSizes: [Int]? = nil) -> [UTPPacket] {
        var random = SplitMix64(seed: seed)
        let sizes =
            datagramSizes?.map { $0 - UTPPacket.headerLength }
            ?? (0..<(1 + Int(random.next(below: 100)))).map { _ in
                random.next(below: 4) == 0 ? 0 : random.next(below: 3) == 0 ? Int(random.next(below: 1400)) : 1400
            }
        return sizes.enumerated().map { index, size in
            UTPPacket(
                type: size == 0 ? .state : .data, connectionID: 7, timestamp: UInt32(truncatingIfNeeded: random.next()),
                windowSize: 1 << 20, sequenceNumber: UInt16(truncatingIfNeeded: index), ackNumber: 3,
                selectiveAck: datagramSizes == nil && random.next(below: 5) == 0 ? [0x01, 0, 0, 0x80] : nil,
                payload: ByteBuffer(bytes: bytes(size, seed: seed &+ UInt64(index))))
        }
    }

    /// Datagrams of `sizes` (each at least a header's 20 bytes), back to back.
    static func datagrams(_ sizes: [Int], seed: UInt64 = 1) -> UTPDatagrams {
        UTPDatagrams(packets(seed: seed, datagramSizes: sizes))
    }

    /// What writes put on the wire: each cut as the kernel cuts it.
    static func onTheWire(_ envelopes: [AddressedEnvelope<ByteBuffer>]) -> [[UInt8]] {
        var datagrams: [[UInt8]] = []
        for envelope in envelopes {
            #expect(envelope.remoteAddress == here)
            UTPOffload.forEachDatagram(in: envelope.data, segmentSize: envelope.metadata?.segmentSize) {
                datagrams.append(Array($0.readableBytesView))
            }
        }
        return datagrams
    }

    static func bytes(of datagrams: UTPDatagrams) -> [[UInt8]] { datagrams.map { Array($0.readableBytesView) } }

    /// Datagrams encoded back to back are each packet's encoding, in order; full packets share
    /// buffers of 64 KiB, and the datagrams of one buffer join into one view of it.
    @Test(arguments: 0..<10)
    func datagramsBackToBackAreThePacketsEncoded(seed: UInt64) {
        let packets = Self.packets(seed: seed)
        let datagrams = UTPDatagrams(packets)
        #expect(datagrams.count == packets.count)
        #expect(Self.bytes(of: datagrams) == packets.map { Array($0.encoded().readableBytesView) })
        #expect(datagrams.indices.map(datagrams.length(at:)) == packets.map(\.encodedLength))
        var start = 0
        for end in 1...datagrams.count where end == datagrams.count || !datagrams.shareABuffer(start, end) {
            #expect(
                Array(datagrams.joined(start..<end).readableBytesView)
                    == packets[start..<end].flatMap { Array($0.encoded().readableBytesView) })
            start = end
        }
        #expect(datagrams.joined(2..<2).readableBytes == 0)
        #expect(datagrams.chunks.allSatisfy { $0.readableBytes <= UTPDatagrams.chunkCapacity })
        // 45 full packets (1,420 bytes each) to a buffer: a batch allocates per buffer, not per packet.
        let full = Self.datagrams(Array(repeating: 1420, count: 100), seed: seed)
        #expect(full.chunks.map(\.readableBytes) == [45 * 1420, 45 * 1420, 10 * 1420])
    }

    /// Runs of equal sizes join (a shorter one ends a run, a longer one starts the next); a lone
    /// datagram is a plain write, without metadata.
    @Test(arguments: [
        ([100, 100, 100], [[100, 100, 100]]),
        ([100, 100, 60, 100, 100], [[100, 100, 60], [100, 100]]),
        ([100, 200, 200, 50], [[100], [200, 200, 50]]),
        ([100], [[100]]),
        ([100, 60, 60], [[100, 60], [60]]),
        ([30, 40, 50], [[30], [40], [50]]),
    ])
    func joinsRunsOfEqualSizes(sizes: [Int], runs: [[Int]]) {
        let datagrams = Self.datagrams(sizes)
        let writes = UTPOffload.segmentedWrites(datagrams, to: Self.here)
        #expect(writes.map(\.data.readableBytes) == runs.map { $0.reduce(0, +) })
        #expect(writes.map { $0.metadata?.segmentSize } == runs.map { $0.count > 1 ? $0[0] : nil })
        #expect(Self.onTheWire(writes) == Self.bytes(of: datagrams))
    }

    /// At most `maxSegments` datagrams and `maxBytes` bytes in one write, and never across two of
    /// the datagrams' buffers.
    @Test func joinsWithinTheLimits() {
        let datagrams = Self.datagrams(Array(repeating: 1000, count: 10))
        let bySegments = UTPOffload.segmentedWrites(datagrams, to: Self.here, maxSegments: 4, maxBytes: 1 << 20)
        #expect(bySegments.map(\.data.readableBytes) == [4000, 4000, 2000])
        let byBytes = UTPOffload.segmentedWrites(datagrams, to: Self.here, maxSegments: 64, maxBytes: 3500)
        #expect(byBytes.map(\.data.readableBytes) == [3000, 3000, 3000, 1000])
        #expect(byBytes.last?.metadata == nil)
        for writes in [bySegments, byBytes] { #expect(Self.onTheWire(writes) == Self.bytes(of: datagrams)) }
        // The defaults keep a write under 64 KiB and the kernel's segment count, and a buffer holds
        // one write: 43 datagrams of 1,482 bytes (with a selective ack) to each, in one GSO write.
        let full = Self.datagrams(Array(repeating: 1482, count: 200))
        let writes = UTPOffload.segmentedWrites(full, to: Self.here)
        #expect(writes.map(\.data.readableBytes) == [43, 43, 43, 43, 28].map { $0 * 1482 })
        #expect(writes.allSatisfy { $0.metadata?.segmentSize == 1482 })
        #expect(Self.onTheWire(writes) == Self.bytes(of: full))
    }

    /// Seeded random batches and limits: the writes give back the datagrams in order, each write is
    /// a view of one of their buffers (not a copy), and each run is as long as the rules allow: the
    /// next datagram could not have joined it.
    @Test(arguments: 0..<20)
    func segmentedWritesAreLongestRunsWithoutCopying(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let datagrams = UTPDatagrams(Self.packets(seed: seed))
        let maxSegments = 1 + Int(random.next(below: 64))
        let maxBytes = 1500 + Int(random.next(below: 70_000))
        let writes = UTPOffload.segmentedWrites(datagrams, to: Self.here, maxSegments: maxSegments, maxBytes: maxBytes)
        #expect(Self.onTheWire(writes) == Self.bytes(of: datagrams))
        var next = 0
        for write in writes {
            let segment = write.metadata?.segmentSize ?? write.data.readableBytes
            let count = write.metadata?.segmentSize == nil ? 1 : (write.data.readableBytes + segment - 1) / segment
            let first = next
            next += count
            #expect(count <= maxSegments && (count == 1 || write.data.readableBytes <= maxBytes))
            #expect((first..<next).allSatisfy { datagrams.shareABuffer(first, $0) })
            guard next < datagrams.count else { continue }
            let lastShorter = datagrams.length(at: next - 1) < segment
            #expect(
                lastShorter || count == maxSegments || datagrams.length(at: next) > segment
                    || write.data.readableBytes + datagrams.length(at: next) > maxBytes
                    || !datagrams.shareABuffer(first, next))
        }
        #expect(next == datagrams.count)
        let buffers = datagrams.chunks.map { chunk in
            chunk.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        }
        for write in writes {
            let start = write.data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            let end = start + UInt(write.data.readableBytes)
            #expect(
                zip(buffers, datagrams.chunks).contains { base, chunk in
                    start >= base && end <= base + UInt(chunk.readableBytes)
                })
        }
    }

    /// GSO writes go to loopback addresses only.
    @Test(arguments: [
        ("127.0.0.1", true), ("127.3.2.1", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("10.0.0.1", false), ("128.0.0.1", false), ("::2", false), ("fe80::1", false), ("::ffff:10.0.0.1", false),
    ])
    func segmentsToLoopbackOnly(host: String, expected: Bool) throws {
        #expect(UTPOffload.isLoopback(try SocketAddress(ipAddress: host, port: 1)) == expected)
    }

    /// 4 MB over a socket pair arrives exact and in order, with offload on and off; with it on where
    /// the kernel has it, the receiver got joined reads (the sender's GSO writes reached it whole).
    @Test(arguments: [true, false])
    func transferWithOffload(offload: Bool) async throws {
        var configuration = UTPConfiguration()
        configuration.udpOffload = offload
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0, configuration: configuration)
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0, configuration: configuration)
        let data = UTPConnectionTests.randomBytes(4_000_000, seed: 33)
        let done = server.channel.eventLoop.makePromise(of: [UInt8].self)
        let expected = data.count
        let watch = StorageWatch()
        try await server.setAcceptor { channel in
            (try? channel.pipeline.syncOperations.addHandlers(
                watch, UTPSocketTests.Collector(expected: expected, done: done))) != nil
        }
        let channel = try await client.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port)), initializer: { $0 })
        try await channel.writeAndFlush(ByteBuffer(bytes: data))
        let received = try await done.futureResult.get()
        #expect(UTPConnectionTests.mismatch(received, data) == nil)
        let multiplexer = server.multiplexer
        let joined = try await multiplexer.eventLoop.submit { multiplexer.joinedReads }.get()
        let sender = client.multiplexer
        let failures = try await sender.eventLoop.submit { sender.segmentationFailures }.get()
        #expect(failures == 0)
        // What reaches the pipeline has storage of its own, not a slice of the socket's read buffer.
        let (reads, pinning) = try await multiplexer.eventLoop.submit { (watch.reads, watch.pinning) }.get()
        #expect(reads > 0 && pinning == 0)
        if offload && System.supportsUDPReceiveOffload && System.supportsUDPSegmentationOffload {
            #expect(joined > 0)
        } else {
            #expect(joined == 0)
        }
        try await channel.close()
        await client.close()
        await server.close()
    }

    /// Counts the reads a connection's pipeline gets, and those whose storage is much larger than their
    /// bytes (a slice of a larger buffer, which keeping would pin).
    final class StorageWatch: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        var reads = 0
        var pinning = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            reads += 1
            if buffer.storageCapacity > 2 * buffer.readableBytes + 64 { pinning += 1 }
            context.fireChannelRead(data)
        }
    }

    /// Collects the datagrams passed on down the socket's pipeline (where the DHT's handler sits).
    final class Passed: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        var datagrams: [[UInt8]] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            datagrams.append(Array(unwrapInboundIn(data).data.readableBytesView))
        }
    }

    /// DHT-style datagrams (not uTP) sent as one GSO write where the kernel has it reach the next
    /// handler one datagram each, in order, with the uTP datagrams among them taken out.
    @Test func otherDatagramsPassOnOneByOne() async throws {
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let passed = Passed()
        try await socket.channel.pipeline.addHandler(passed).get()
        let sender = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(socket.port))
        // Bencoded-looking datagrams ("d...") of one size, the last shorter.
        let datagrams = [200, 200, 200, 120].enumerated().map { index, size in
            [UInt8(ascii: "d")] + Self.bytes(size - 1, seed: UInt64(index))
        }
        var joined = ByteBuffer()
        for datagram in datagrams { joined.writeBytes(datagram) }
        if System.supportsUDPSegmentationOffload {
            try await sender.writeAndFlush(
                AddressedEnvelope(
                    remoteAddress: target, data: joined,
                    metadata: .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: 200)))
        } else {
            for datagram in datagrams {
                try await sender.writeAndFlush(
                    AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: datagram)))
            }
        }
        // Then a joined read of uTP-looking datagrams (a RESET for no connection is refused) with a
        // DHT one after: only the latter is passed on.
        let reset = UTPPacket(type: .reset, connectionID: 7, sequenceNumber: 1, ackNumber: 0).encoded()
        var mixed = ByteBuffer()
        for _ in 0..<3 { mixed.writeImmutableBuffer(reset) }
        let tail = [UInt8(ascii: "d")] + Self.bytes(reset.readableBytes - 1, seed: 99)
        mixed.writeBytes(tail)
        if System.supportsUDPSegmentationOffload {
            try await sender.writeAndFlush(
                AddressedEnvelope(
                    remoteAddress: target, data: mixed,
                    metadata: .init(
                        ecnState: .transportNotCapable, packetInfo: nil, segmentSize: reset.readableBytes)))
        } else {
            for _ in 0..<3 { try await sender.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: reset)) }
            try await sender.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: tail)))
        }
        let loop = socket.channel.eventLoop
        let multiplexer = socket.multiplexer
        let arrived = try await poll(timeout: .seconds(10)) {
            try await loop.submit { passed.datagrams.count >= 5 && multiplexer.refused >= 3 }.get()
        }
        #expect(arrived)
        let got = try await loop.submit { passed.datagrams }.get()
        #expect(got == datagrams + [tail])
        #expect(try await loop.submit { multiplexer.refused }.get() == 3)
        // Where the kernel has both offloads, the two GSO writes arrived as two joined reads.
        let joinedReads = try await loop.submit { multiplexer.joinedReads }.get()
        let offload = System.supportsUDPSegmentationOffload && System.supportsUDPReceiveOffload
        #expect(joinedReads == (offload ? 2 : 0))
        try await sender.close()
        await socket.close()
    }
}
