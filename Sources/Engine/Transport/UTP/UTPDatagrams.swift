import NIOCore

/// The datagrams a connection produced in one batch, in order, encoded back to back into buffers
/// of at most 65,000 bytes (the most one GSO write takes). Each datagram is a view of its buffer,
/// and so is a run of them in one buffer: a GSO write of a run
/// (``UTPOffload/segmentedWrites(_:to:maxSegments:maxBytes:)``) is a view, not a copy. A payload is
/// copied once, into its buffer, and a batch costs an allocation per 43 to 45 full packets, not one
/// per datagram. The buffers stay under glibc's threshold for handing memory back to the kernel, so
/// their pages are reused from batch to batch.
public struct UTPDatagrams: Sendable, RandomAccessCollection {
    struct Place: Sendable {
        var chunk: Int
        var start: Int
        var length: Int
    }

    /// The buffers, each holding datagrams back to back.
    private(set) var chunks: [ByteBuffer] = []
    private var places: [Place] = []

    /// The most bytes a buffer holds: a GSO write's most, so that a buffer's datagrams can go in
    /// one write. A datagram with a payload that does not fit the last buffer starts one of this
    /// capacity; one without (an ack) starts one of its own size.
    static let chunkCapacity = UTPOffload.maxSegmentedBytes

    public init() {}

    /// The datagrams of `packets`, in order.
    public init(_ packets: some Sequence<UTPPacket>) {
        for packet in packets { append(packet) }
    }

    /// Encodes `packet` after the datagrams already here.
    public mutating func append(_ packet: UTPPacket) {
        let length = packet.encodedLength
        if chunks.isEmpty || chunks[chunks.count - 1].writableBytes < length
            || chunks[chunks.count - 1].readableBytes + length > Self.chunkCapacity
        {
            let capacity = packet.payloadLength > 0 ? Swift.max(Self.chunkCapacity, length) : length
            chunks.append(ByteBufferAllocator().buffer(capacity: capacity))
        }
        let chunk = chunks.count - 1
        places.append(Place(chunk: chunk, start: chunks[chunk].writerIndex, length: length))
        packet.encode(into: &chunks[chunk])
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { places.count }

    /// The length of datagram `index`.
    public func length(at index: Int) -> Int { places[index].length }

    /// Whether datagrams `first` and `other` are in the same buffer (a run may join them).
    func shareABuffer(_ first: Int, _ other: Int) -> Bool { places[first].chunk == places[other].chunk }

    /// Datagram `index`, a view of its buffer.
    public subscript(index: Int) -> ByteBuffer {
        let place = places[index]
        return view(of: place.chunk, from: place.start, to: place.start + place.length)
    }

    /// Datagrams `range`, joined: one view of their buffer. They must share it (``shareABuffer(_:_:)``).
    func joined(_ range: Range<Int>) -> ByteBuffer {
        guard let lowest = range.first, let highest = range.last else { return ByteBuffer() }
        let first = places[lowest]
        let last = places[highest]
        precondition(first.chunk == last.chunk, "a run of datagrams spans two buffers")
        return view(of: first.chunk, from: first.start, to: last.start + last.length)
    }

    /// The bytes from `start` to `end` of buffer `chunk`, sharing its storage (nothing writes to it
    /// once the batch is taken; a write to either would copy it first).
    private func view(of chunk: Int, from start: Int, to end: Int) -> ByteBuffer {
        var view = chunks[chunk]
        view.moveWriterIndex(to: end)
        view.moveReaderIndex(to: start)
        return view
    }
}
