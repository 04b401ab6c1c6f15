import NIOCore

/// The bytes written to a uTP connection and not yet sent: the writers' buffers, kept as slices and
/// cut into packets' payloads without copying them into one buffer.
///
/// One contiguous buffer appended to while the payloads sliced from it waited in flight for their
/// acks was copied whole at each write (the payloads shared its storage) and reallocated into fresh
/// pages: a btq seeding another btq over uTP spent 13.8 CPU s on 1 GiB, most of it in those copies
/// and page faults. Here a payload is a slice of the buffer it came from, or, when it spans several (a
/// frame's end and the next one's start: most payloads of a seed, whose piece messages are a 13-byte
/// head and a block), slices of each: its bytes are copied once, into the datagram
/// (``UTPPacket/encode(into:)``). Joining them first cost a second copy of most of a seed's payloads.
struct UTPSendQueue {
    /// The bytes of one packet's payload: slices of the buffers written, in order.
    struct Payload: Sendable {
        /// The first slice (empty for a packet without payload).
        var first: ByteBuffer
        /// The slices after it, when the payload spans buffers.
        var more: [ByteBuffer]
        /// The payload's length.
        let readableBytes: Int

        /// `buffer`'s readable bytes as a payload.
        init(_ buffer: ByteBuffer = ByteBuffer()) {
            self.first = buffer
            self.more = []
            self.readableBytes = buffer.readableBytes
        }

        fileprivate init(first: ByteBuffer, more: [ByteBuffer], readableBytes: Int) {
            self.first = first
            self.more = more
            self.readableBytes = readableBytes
        }
    }

    private var buffers = CircularBuffer<ByteBuffer>()
    /// The bytes queued.
    private(set) var count = 0

    /// True when nothing is queued.
    var isEmpty: Bool { count == 0 }

    /// Queues `buffer`'s readable bytes (shared, not copied).
    mutating func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        count += buffer.readableBytes
        buffers.append(buffer)
    }

    /// Takes the next `length` bytes, in order: a slice of each buffer they span (shared, not copied).
    ///
    /// - Precondition: `0 < length <= count`.
    mutating func take(_ length: Int) -> Payload {
        precondition(length > 0 && length <= count, "taking \(length) of \(count) queued bytes")
        count -= length
        let first = takeFromFirst(min(length, buffers[buffers.startIndex].readableBytes))
        var left = length - first.readableBytes
        var more: [ByteBuffer] = []
        while left > 0 {
            let part = takeFromFirst(min(left, buffers[buffers.startIndex].readableBytes))
            left -= part.readableBytes
            more.append(part)
        }
        return Payload(first: first, more: more, readableBytes: length)
    }

    /// Drops everything queued.
    mutating func removeAll() {
        buffers.removeAll()
        count = 0
    }

    private mutating func takeFromFirst(_ length: Int) -> ByteBuffer {
        var first = buffers.removeFirst()
        let slice = first.readSlice(length: length)!
        if first.readableBytes > 0 { buffers.prepend(first) }
        return slice
    }
}
