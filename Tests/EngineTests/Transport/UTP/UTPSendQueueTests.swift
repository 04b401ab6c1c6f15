import NIOCore
import Testing

@testable import Engine

/// The bytes written to a uTP connection, cut into payloads: in order, every byte once, sliced from the
/// writers' buffers rather than copied, and copied once, into the datagram.
@Suite struct UTPSendQueueTests {
    static func bytes(_ payload: UTPSendQueue.Payload) -> [UInt8] {
        ([payload.first] + payload.more).flatMap { Array($0.readableBytesView) }
    }

    static func base(_ buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    /// Buffers of uneven lengths (a frame header, a block, empty, tiny) cut into 1,400-byte payloads and
    /// a short last one give back exactly the bytes written, in order.
    @Test func payloadsCarryEveryByteInOrder() {
        let lengths = [13, 16384, 0, 1, 1399, 1400, 1401, 5, 16397, 2800]
        var queue = UTPSendQueue()
        var written: [UInt8] = []
        for (index, length) in lengths.enumerated() {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7) }
            written += bytes
            queue.append(ByteBuffer(bytes: bytes))
        }
        #expect(queue.count == written.count)
        var sent: [UInt8] = []
        while !queue.isEmpty {
            let size = min(1400, queue.count)
            let payload = queue.take(size)
            #expect(payload.readableBytes == size)
            #expect(([payload.first] + payload.more).allSatisfy { $0.readableBytes > 0 })
            sent += Self.bytes(payload)
        }
        #expect(sent == written)
        #expect(queue.count == 0)
    }

    /// A payload shares the written buffers' memory: one slice when it lies in one buffer, a slice of
    /// each when it spans several.
    @Test func aPayloadIsSlicesOfTheBuffersWritten() {
        let block = ByteBuffer(bytes: (0..<4000).map { UInt8(truncatingIfNeeded: $0) })
        let tail = ByteBuffer(bytes: [1, 2, 3])
        let next = ByteBuffer(bytes: (0..<100).map { UInt8(truncatingIfNeeded: $0 + 7) })
        var queue = UTPSendQueue()
        queue.append(block)
        queue.append(tail)
        queue.append(next)
        let first = queue.take(1400)
        #expect(first.more.isEmpty && Self.base(first.first) == Self.base(block))
        let second = queue.take(1400)
        #expect(second.more.isEmpty && Self.base(second.first) == Self.base(block) + 1400)
        let spanning = queue.take(1210)
        #expect(spanning.readableBytes == 1210)
        #expect(Self.base(spanning.first) == Self.base(block) + 2800 && spanning.first.readableBytes == 1200)
        #expect(spanning.more.map(\.readableBytes) == [3, 7])
        #expect(spanning.more.map(Self.base) == [Self.base(tail), Self.base(next)])
        #expect(Self.bytes(spanning) == Array(block.readableBytesView.suffix(1200)) + [1, 2, 3] + Array(7..<14))
        #expect(queue.count == 93)
    }

    /// A packet whose payload is several slices encodes to the same datagram as one with those bytes in
    /// one buffer.
    @Test func aPayloadOfSlicesEncodesAsOneBuffer() {
        var queue = UTPSendQueue()
        queue.append(ByteBuffer(bytes: [9, 8, 7]))
        queue.append(ByteBuffer(bytes: Array(0..<200)))
        let payload = queue.take(150)
        var sliced = UTPPacket(
            type: .data, connectionID: 7, timestamp: 1, timestampDifference: 2, windowSize: 3,
            sequenceNumber: 4, ackNumber: 5, selectiveAck: [0, 0, 0, 1], payload: payload.first)
        sliced.morePayload = payload.more
        var joined = sliced
        joined.morePayload = []
        joined.payload = ByteBuffer(bytes: Self.bytes(payload))
        #expect(sliced.payloadLength == 150 && sliced.encodedLength == joined.encodedLength)
        #expect(sliced.encoded() == joined.encoded())
        let decoded = try? UTPPacket(decoding: sliced.encoded())
        #expect(decoded?.payload == ByteBuffer(bytes: [9, 8, 7] + Array(0..<147)))
    }

    /// Dropping everything (the connection closed) leaves an empty queue that takes new bytes.
    @Test func removeAllEmptiesTheQueue() {
        var queue = UTPSendQueue()
        queue.append(ByteBuffer(bytes: [1, 2, 3, 4]))
        queue.removeAll()
        #expect(queue.isEmpty)
        queue.append(ByteBuffer(bytes: [9]))
        #expect(Self.bytes(queue.take(1)) == [9])
    }
}
