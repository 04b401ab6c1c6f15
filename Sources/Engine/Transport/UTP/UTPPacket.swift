import NIOCore

/// The five uTP packet types (BEP 29), the high four bits of a datagram's first byte.
public enum UTPPacketType: UInt8, Hashable, Sendable {
    /// ST_DATA: a payload, taking one sequence number.
    case data = 0
    /// ST_FIN: the sender's last sequence number; it sends nothing after it.
    case fin = 1
    /// ST_STATE: an ack only; takes no sequence number.
    case state = 2
    /// ST_RESET: the connection is gone.
    case reset = 3
    /// ST_SYN: opens a connection; takes one sequence number.
    case syn = 4
}

/// One uTP datagram: the 20-byte header, the selective-ack extension if present, and the payload.
///
/// ```
/// 0       4       8               16              24              32
/// +-------+-------+---------------+---------------+---------------+
/// | type  | ver   | extension     | connection_id                 |
/// +-------+-------+---------------+---------------+---------------+
/// | timestamp_microseconds                                        |
/// | timestamp_difference_microseconds                             |
/// | wnd_size                                                      |
/// | seq_nr                        | ack_nr                        |
/// +---------------+---------------+---------------+---------------+
/// ```
///
/// Extensions follow as (next type, length, bytes); type 1 is the selective ack (a bitmask, bit 0 of
/// byte 0 standing for `ack_nr + 2`). BEP 29 says its length is a multiple of 4 bytes, but libtorrent
/// sends as many bytes as its reorder buffer spans (1, 2, 13, 27 ...), so any length is taken (the
/// one-byte length field bounds it at 255 bytes, 2,040 packets; an empty one is no selective ack); we
/// send multiples of 4. Type ``readLimitExtension`` is btq's: the largest datagram the sender reads
/// (two bytes, big-endian), sent in the SYN and its answer to loopback peers only (``readLimit``);
/// libtorrent and libutp skip extensions they do not know, as we do. Decoding is bounded: at most
/// ``maxExtensions`` extensions, each length checked against the datagram.
public struct UTPPacket: Hashable, Sendable {
    /// The header's length in bytes.
    public static let headerLength = 20
    /// The most extensions one datagram may chain.
    public static let maxExtensions = 8
    /// The extension type of ``readLimit`` (unassigned by BEP 29, libtorrent and libutp, which use
    /// 1 to 3).
    public static let readLimitExtension: UInt8 = 0x62

    /// The packet type.
    public var type: UTPPacketType
    /// The connection id the receiver knows this connection by.
    public var connectionID: UInt16
    /// The sender's clock when it sent this, in microseconds (wrapping).
    public var timestamp: UInt32
    /// The sender's clock minus the `timestamp` of the last packet it received, in microseconds
    /// (wrapping): the one-way delay plus the clocks' offset.
    public var timestampDifference: UInt32
    /// The sender's free receive buffer in bytes.
    public var windowSize: UInt32
    /// This packet's sequence number (ST_STATE: the next one the sender will use).
    public var sequenceNumber: UInt16
    /// The last sequence number the sender received in order.
    public var ackNumber: UInt16
    /// The selective-ack bitmask, if the packet carries one.
    public var selectiveAck: [UInt8]?
    /// The largest datagram the sender reads, in bytes, if the packet says (``readLimitExtension``).
    public var readLimit: UInt16?
    /// The payload (empty but for ST_DATA).
    public var payload: ByteBuffer
    /// More of the payload, after ``payload``, for a packet we send whose payload spans the buffers
    /// written (``UTPSendQueue``): encoded after it, so the bytes are copied once, into the datagram.
    /// Empty in a decoded packet.
    public var morePayload: [ByteBuffer] = []

    /// A packet from its fields.
    public init(
        type: UTPPacketType, connectionID: UInt16, timestamp: UInt32 = 0, timestampDifference: UInt32 = 0,
        windowSize: UInt32 = 0, sequenceNumber: UInt16, ackNumber: UInt16, selectiveAck: [UInt8]? = nil,
        readLimit: UInt16? = nil, payload: ByteBuffer = ByteBuffer()
    ) {
        self.type = type
        self.connectionID = connectionID
        self.timestamp = timestamp
        self.timestampDifference = timestampDifference
        self.windowSize = windowSize
        self.sequenceNumber = sequenceNumber
        self.ackNumber = ackNumber
        self.selectiveAck = selectiveAck
        self.readLimit = readLimit
        self.payload = payload
    }

    /// Whether a datagram's first byte could start a uTP packet (type 0-4, version 1); KRPC
    /// datagrams start with `d` (0x64) and never do.
    public static func looksLikeUTP(firstByte: UInt8) -> Bool {
        firstByte & 0x0F == 1 && firstByte >> 4 <= UTPPacketType.syn.rawValue
    }

    /// Decodes one whole datagram. Throws ``UTPError`` for anything malformed; never reads past
    /// the datagram.
    public init(decoding datagram: ByteBuffer) throws(UTPError) {
        // The header in one read of the bytes (a ByteBuffer read per field costs a bounds check and a
        // call each, for every datagram).
        let header = datagram.withUnsafeReadableBytes { bytes -> Header? in
            guard bytes.count >= Self.headerLength else { return nil }
            return Header(
                first: bytes[0], nextExtension: bytes[1],
                connectionID: UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)),
                timestamp: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                difference: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                window: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                sequence: UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt16.self)),
                ack: UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 18, as: UInt16.self)))
        }
        guard let header else { throw .tooShort(datagram.readableBytes) }
        var buffer = datagram
        buffer.moveReaderIndex(forwardBy: Self.headerLength)
        let first = header.first
        var nextExtension = header.nextExtension
        guard first & 0x0F == 1 else { throw .wrongVersion(first & 0x0F) }
        guard let type = UTPPacketType(rawValue: first >> 4) else { throw .unknownType(first >> 4) }
        var selectiveAck: [UInt8]?
        var readLimit: UInt16?
        var count = 0
        while nextExtension != 0 {
            count += 1
            guard count <= Self.maxExtensions else { throw .tooManyExtensions(count) }
            let offset = datagram.readableBytes - buffer.readableBytes
            guard let following = buffer.readInteger(as: UInt8.self),
                let length = buffer.readInteger(as: UInt8.self),
                let body = buffer.readBytes(length: Int(length))
            else { throw .extensionTruncated(offset: offset) }
            if nextExtension == 1 { selectiveAck = body.isEmpty ? nil : body }
            // Of any other length it is not ours: skipped, as every unknown extension.
            if nextExtension == Self.readLimitExtension, body.count == 2 {
                readLimit = UInt16(body[0]) << 8 | UInt16(body[1])
            }
            nextExtension = following
        }
        if buffer.readableBytes > 0, type == .state || type == .reset {
            throw .payloadNotAllowed(type: type.rawValue)
        }
        self.init(
            type: type, connectionID: header.connectionID, timestamp: header.timestamp,
            timestampDifference: header.difference, windowSize: header.window, sequenceNumber: header.sequence,
            ackNumber: header.ack, selectiveAck: selectiveAck, readLimit: readLimit, payload: buffer.slice())
    }

    /// The fixed header's fields as read.
    private struct Header {
        var first: UInt8
        var nextExtension: UInt8
        var connectionID: UInt16
        var timestamp: UInt32
        var difference: UInt32
        var window: UInt32
        var sequence: UInt16
        var ack: UInt16
    }

    /// The datagram's length once encoded.
    public var encodedLength: Int { extendedHeaderLength + payloadLength }

    /// The payload's length, ``morePayload`` included.
    public var payloadLength: Int { morePayload.reduce(payload.readableBytes) { $0 + $1.readableBytes } }

    /// The header's length with its extensions.
    private var extendedHeaderLength: Int {
        Self.headerLength + (selectiveAck.map { 2 + $0.count } ?? 0) + (readLimit == nil ? 0 : 4)
    }

    /// Writes the datagram.
    public func encode(into buffer: inout ByteBuffer) {
        let headerLength = extendedHeaderLength
        let length = headerLength + payloadLength
        // One write of the whole datagram: a ByteBuffer write per field costs a capacity check, a
        // uniqueness check and an exclusivity check each, for every datagram sent.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            out[0] = type.rawValue << 4 | 1
            out[1] = selectiveAck == nil ? (readLimit == nil ? 0 : Self.readLimitExtension) : 1
            out.storeBytes(of: connectionID.bigEndian, toByteOffset: 2, as: UInt16.self)
            out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
            out.storeBytes(of: timestampDifference.bigEndian, toByteOffset: 8, as: UInt32.self)
            out.storeBytes(of: windowSize.bigEndian, toByteOffset: 12, as: UInt32.self)
            out.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: 16, as: UInt16.self)
            out.storeBytes(of: ackNumber.bigEndian, toByteOffset: 18, as: UInt16.self)
            var offset = Self.headerLength
            if let selectiveAck {
                out[offset] = readLimit == nil ? 0 : Self.readLimitExtension
                out[offset + 1] = UInt8(selectiveAck.count)
                UnsafeMutableRawBufferPointer(rebasing: out[(offset + 2)..<(offset + 2 + selectiveAck.count)])
                    .copyBytes(from: selectiveAck)
                offset += 2 + selectiveAck.count
            }
            if let readLimit {
                out[offset] = 0
                out[offset + 1] = 2
                out.storeBytes(of: readLimit.bigEndian, toByteOffset: offset + 2, as: UInt16.self)
            }
            offset = headerLength
            func copy(_ part: ByteBuffer) {
                part.withUnsafeReadableBytes { bytes in
                    UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + bytes.count)]).copyMemory(
                        from: bytes)
                    offset += bytes.count
                }
            }
            copy(payload)
            for part in morePayload { copy(part) }
            return length
        }
    }

    /// The datagram as a new buffer.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return buffer
    }
}
