import NIOCore
import Testing

@testable import Engine

/// The bytes written to a uTP connection, cut into payloads: in order, every byte once, and sliced from
/// the writers' buffers rather than copied when a payload lies in one buffer.
@Suite struct UTPSendQueueTests {
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
            sent += payload.readableBytesView
        }
        #expect(sent == written)
        #expect(queue.count == 0)
    }

    /// A payload inside one written buffer shares that buffer's memory; one spanning two is a copy of
    /// exactly its bytes.
    @Test func aPayloadInOneBufferIsASlice() {
        let block = ByteBuffer(bytes: (0..<4000).map { UInt8(truncatingIfNeeded: $0) })
        let blockBase = block.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        var queue = UTPSendQueue()
        queue.append(block)
        queue.append(ByteBuffer(bytes: [1, 2, 3]))
        let first = queue.take(1400)
        #expect(first.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == blockBase)
        let second = queue.take(1400)
        #expect(second.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == blockBase + 1400)
        let spanning = queue.take(1203)
        #expect(Array(spanning.readableBytesView.suffix(3)) == [1, 2, 3])
        #expect(Array(spanning.readableBytesView.prefix(2)) == [UInt8(2800 % 256), UInt8(2801 % 256)])
        #expect(queue.isEmpty)
    }

    /// Dropping everything (the connection closed) leaves an empty queue that takes new bytes.
    @Test func removeAllEmptiesTheQueue() {
        var queue = UTPSendQueue()
        queue.append(ByteBuffer(bytes: [1, 2, 3, 4]))
        queue.removeAll()
        #expect(queue.isEmpty)
        queue.append(ByteBuffer(bytes: [9]))
        #expect(queue.take(1) == ByteBuffer(bytes: [9]))
    }
}
