import NIOCore

/// The bytes written to a uTP connection and not yet sent: the writers' buffers, kept as slices and
/// cut into packets' payloads without copying them into one buffer.
///
/// One contiguous buffer appended to while the payloads sliced from it waited in flight for their
/// acks was copied whole at each write (the payloads shared its storage) and reallocated into fresh
/// pages: a btq seeding another btq over uTP spent 13.8 CPU s on 1 GiB, most of it in those copies
/// and page faults. Here a payload is a slice of the buffer it came from; only one that spans two
/// buffers (a frame's end and the next one's start) is copied, at most a packet's bytes.
struct UTPSendQueue {
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

    /// Takes the next `length` bytes, in order: a slice of the first buffer when it holds them all, else
    /// a new buffer with the bytes of as many buffers as they span.
    ///
    /// - Precondition: `0 < length <= count`.
    mutating func take(_ length: Int) -> ByteBuffer {
        precondition(length > 0 && length <= count, "taking \(length) of \(count) queued bytes")
        count -= length
        if buffers[buffers.startIndex].readableBytes >= length {
            return takeFromFirst(length)
        }
        var joined = ByteBufferAllocator().buffer(capacity: length)
        var left = length
        while left > 0 {
            var part = takeFromFirst(min(left, buffers[buffers.startIndex].readableBytes))
            left -= part.readableBytes
            joined.writeBuffer(&part)
        }
        return joined
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
