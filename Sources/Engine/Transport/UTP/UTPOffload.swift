import NIOCore

/// UDP offload on Linux, for the uTP socket: the kernel joins datagrams of one flow into one read
/// (UDP_GRO) and splits one write of equal-sized datagrams into datagrams (UDP_SEGMENT, GSO). Both
/// take per-datagram costs (a syscall's share, the socket-buffer and routing work, the wake-ups) from
/// once a datagram to once an aggregate. On loopback a GSO write reaches a GRO reader still whole.
///
/// Pure helpers: splitting a read into its datagrams, joining writes into GSO writes, and which
/// destinations get GSO writes.
enum UTPOffload {
    /// Bytes in one GSO write at most: the UDP length field bounds it under 64 KiB, less the IP and
    /// UDP headers (IPv6 leaves 65,487).
    static let maxSegmentedBytes = 65_000

    /// Datagrams in one GSO write at most: the kernel's UDP_MAX_SEGMENTS, 64 on every kernel with GSO
    /// (128 on newer ones; NIO cannot tell which).
    static let maxSegments = 64

    /// Bytes one read slot holds with receive offload on: the largest aggregate the kernel hands over.
    static let aggregateReadCapacity = 64 << 10

    /// Calls `body` with each datagram in `buffer`, one read: `segmentSize` (reported by the kernel
    /// when it joined several) cuts it into slices of that size, the last possibly shorter; without
    /// one, or with one not below the buffer's size, it is one datagram. Slices, no copies; linear in
    /// the datagrams. A size of zero or less counts as none.
    static func forEachDatagram(in buffer: ByteBuffer, segmentSize: Int?, _ body: (ByteBuffer) -> Void) {
        guard let segmentSize, segmentSize > 0, segmentSize < buffer.readableBytes else {
            body(buffer)
            return
        }
        var offset = buffer.readerIndex
        let end = buffer.writerIndex
        while offset < end {
            let length = min(segmentSize, end - offset)
            // In bounds by construction.
            if let slice = buffer.getSlice(at: offset, length: length) { body(slice) }
            offset += length
        }
    }

    /// `datagrams`, all to `address`, as writes: each run of consecutive datagrams of one size in
    /// one of the datagrams' buffers (the run's last may be shorter, and ends it) becomes one write
    /// whose `segmentSize` is that size, at most `maxSegments` datagrams and `maxBytes` bytes; a run
    /// of one is a plain write. Order is kept, and the bytes the kernel sends are the same datagrams.
    /// Every write is a view of a buffer the datagrams were encoded into: nothing is copied.
    static func segmentedWrites(
        _ datagrams: UTPDatagrams, to address: SocketAddress, maxSegments: Int = UTPOffload.maxSegments,
        maxBytes: Int = UTPOffload.maxSegmentedBytes
    ) -> [AddressedEnvelope<ByteBuffer>] {
        var writes: [AddressedEnvelope<ByteBuffer>] = []
        var start = 0
        while start < datagrams.count {
            // Every datagram has at least a header, so a run's first is never empty.
            let size = datagrams.length(at: start)
            var end = start + 1
            var bytes = size
            while end < datagrams.count, end - start < maxSegments, datagrams.shareABuffer(start, end) {
                let next = datagrams.length(at: end)
                guard next <= size, bytes + next <= maxBytes else { break }
                bytes += next
                end += 1
                // A shorter datagram can only be a run's last.
                if next < size { break }
            }
            if end - start == 1 {
                writes.append(AddressedEnvelope(remoteAddress: address, data: datagrams[start]))
            } else {
                writes.append(
                    AddressedEnvelope(
                        remoteAddress: address, data: datagrams.joined(start..<end),
                        metadata: .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: size)))
            }
            start = end
        }
        return writes
    }

    /// Whether `address` is a loopback address: where GSO writes go, and large packets to a peer that
    /// reads them (``UTPConfiguration/loopbackPayload``). A GSO write the kernel refuses (EINVAL when
    /// a segment is over the route's MTU, as through a VPN tunnel; EIO through IPsec) is not an error
    /// NIO gets past: it closes the whole UDP channel, the DHT's with it. Loopback has a 64 KiB MTU
    /// and no such transforms, and it is where the rates are that offload is for.
    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let address):
            return UInt32(bigEndian: address.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let address):
            var bytes = address.address.sin6_addr
            return withUnsafeBytes(of: &bytes) { raw in
                // ::1, or an IPv4-mapped loopback address (::ffff:127.x.y.z).
                raw.prefix(15).allSatisfy { $0 == 0 } && raw[15] == 1
                    || raw.prefix(10).allSatisfy { $0 == 0 } && raw[10] == 0xFF && raw[11] == 0xFF && raw[12] == 127
            }
        case .unixDomainSocket:
            return false
        }
    }
}
