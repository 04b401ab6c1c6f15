import NIOCore
import Testing

@testable import Engine

/// The uTP header codec: round trips, the selective-ack extension, unknown extensions skipped, and
/// malformed datagrams refused with typed errors.
@Suite struct UTPPacketTests {
    static let samples: [UTPPacket] = [
        UTPPacket(
            type: .syn, connectionID: 0x1234, timestamp: 0xdead_beef, timestampDifference: 0, windowSize: 1 << 20,
            sequenceNumber: 1, ackNumber: 0),
        UTPPacket(
            type: .state, connectionID: 0xffff, timestamp: 1, timestampDifference: 2, windowSize: 3,
            sequenceNumber: 0xffff, ackNumber: 0x8000, selectiveAck: [0x05, 0, 0, 0x80]),
        UTPPacket(
            type: .data, connectionID: 7, timestamp: 9, timestampDifference: 10, windowSize: 11, sequenceNumber: 12,
            ackNumber: 13, payload: ByteBuffer(bytes: Array(0..<200))),
        UTPPacket(type: .fin, connectionID: 1, sequenceNumber: 2, ackNumber: 3),
        UTPPacket(type: .reset, connectionID: 1, sequenceNumber: 2, ackNumber: 3),
        UTPPacket(type: .syn, connectionID: 9, windowSize: 1 << 20, sequenceNumber: 1, ackNumber: 0, readLimit: 65_000),
        UTPPacket(
            type: .state, connectionID: 9, sequenceNumber: 5, ackNumber: 1, selectiveAck: [0, 0, 0, 1],
            readLimit: 0x0102),
    ]

    @Test(arguments: samples)
    func roundTrip(packet: UTPPacket) throws {
        let bytes = packet.encoded()
        #expect(bytes.readableBytes == packet.encodedLength)
        let decoded = try UTPPacket(decoding: bytes)
        #expect(decoded == packet)
        #expect(decoded.encoded() == bytes)
    }

    /// BEP 29's layout, byte by byte.
    @Test func headerLayout() {
        let packet = UTPPacket(
            type: .data, connectionID: 0x0102, timestamp: 0x0304_0506, timestampDifference: 0x0708_090a,
            windowSize: 0x0b0c_0d0e, sequenceNumber: 0x0f10, ackNumber: 0x1112, selectiveAck: [1, 2, 3, 4],
            payload: ByteBuffer(bytes: [0xaa]))
        #expect(
            Array(packet.encoded().readableBytesView) == [
                0x01, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                0x10, 0x11, 0x12, 0x00, 0x04, 1, 2, 3, 4, 0xaa,
            ])
    }

    /// The read-limit extension: type 0x62, two bytes big-endian, after the selective ack when both
    /// are sent.
    @Test func readLimitLayout() throws {
        let alone = UTPPacket(type: .syn, connectionID: 0x0102, sequenceNumber: 3, ackNumber: 0, readLimit: 0xfde8)
        let bytes = Array(alone.encoded().readableBytesView)
        #expect(bytes.count == 24)
        #expect(bytes[1] == 0x62)
        #expect(Array(bytes[20...]) == [0, 2, 0xfd, 0xe8])
        let both = UTPPacket(
            type: .state, connectionID: 1, sequenceNumber: 3, ackNumber: 1, selectiveAck: [1, 2, 3, 4],
            readLimit: 0x1234)
        let chained = Array(both.encoded().readableBytesView)
        #expect(chained[1] == 1)
        #expect(Array(chained[20...]) == [0x62, 4, 1, 2, 3, 4, 0, 2, 0x12, 0x34])
    }

    /// Type 0x62 of any length but two bytes is not ours: skipped like any unknown extension.
    @Test(arguments: [0, 1, 3, 8])
    func readLimitOfAnotherLengthSkipped(length: Int) throws {
        var bytes = header(type: 4, firstExtension: 0x62)
        bytes += [1, UInt8(length)] + [UInt8](repeating: 0xff, count: length)
        bytes += [0, 4, 0x0f, 0, 0, 0]
        let packet = try UTPPacket(decoding: ByteBuffer(bytes: bytes))
        #expect(packet.readLimit == nil)
        #expect(packet.selectiveAck == [0x0f, 0, 0, 0])
    }

    /// Datagrams encoded back to back into one buffer (as a batch's are) keep what the buffer held
    /// before them, and each decodes from its own view of the buffer, whatever its reader index.
    @Test func backToBackInOneBuffer() throws {
        var buffer = ByteBuffer(bytes: [0xee, 0xee, 0xee])
        var starts: [Int] = []
        for packet in Self.samples {
            starts.append(buffer.writerIndex)
            packet.encode(into: &buffer)
        }
        #expect(buffer.getBytes(at: 0, length: 3) == [0xee, 0xee, 0xee])
        for (index, packet) in Self.samples.enumerated() {
            var view = buffer
            view.moveWriterIndex(to: index + 1 < starts.count ? starts[index + 1] : buffer.writerIndex)
            view.moveReaderIndex(to: starts[index])
            #expect(view.readableBytes == packet.encodedLength)
            #expect(try UTPPacket(decoding: view) == packet)
        }
    }

    /// Which first bytes the shared socket hands to uTP: 0x01, 0x11, 0x21, 0x31, 0x41, never `d`.
    @Test func demultiplexing() {
        let accepted = (0...255).filter { UTPPacket.looksLikeUTP(firstByte: UInt8($0)) }
        #expect(accepted == [0x01, 0x11, 0x21, 0x31, 0x41])
        #expect(!UTPPacket.looksLikeUTP(firstByte: UInt8(ascii: "d")))
    }

    /// An unknown extension between the header and the selective ack is skipped.
    @Test func unknownExtensionSkipped() throws {
        var bytes = header(type: 2, firstExtension: 7)
        bytes += [1, 3, 9, 9, 9]  // unknown type 7, then selective ack next
        bytes += [0, 4, 0xff, 0, 0, 0]
        let packet = try UTPPacket(decoding: ByteBuffer(bytes: bytes))
        #expect(packet.selectiveAck == [0xff, 0, 0, 0])
        #expect(packet.payload.readableBytes == 0)
    }

    /// Selective acks as libtorrent 2.0 sends them: as many bytes as its reorder buffer spans, not a
    /// multiple of 4 (these three are from a capture of libtorrent acking btq's data after losses
    /// under load). Refusing them dropped every ack that carried one, and the seed stalled.
    @Test(arguments: [
        "00f8", "00f8ffffffffffffffffffffff", "00fcffffffffffffffffffffffff030000000000000000000000fc",
    ])
    func libtorrentSelectiveAckOfAnyLength(hex: String) throws {
        let mask = stride(from: 0, to: hex.count, by: 2).map {
            UInt8(hex.dropFirst($0).prefix(2), radix: 16)!
        }
        var bytes = header(type: 2, firstExtension: 1)
        bytes += [0, UInt8(mask.count)] + mask
        let packet = try UTPPacket(decoding: ByteBuffer(bytes: bytes))
        #expect(packet.type == .state)
        #expect(packet.selectiveAck == mask)
        #expect(try UTPPacket(decoding: packet.encoded()) == packet)
    }

    /// The one-byte length bounds a selective ack at 255 bytes, which is read; an empty one is none.
    @Test func selectiveAckLengthBounds() throws {
        let longest = [UInt8](repeating: 0xff, count: 255)
        let long = try UTPPacket(decoding: ByteBuffer(bytes: header(type: 2, firstExtension: 1) + [0, 255] + longest))
        #expect(long.selectiveAck == longest)
        let empty = try UTPPacket(decoding: ByteBuffer(bytes: header(type: 2, firstExtension: 1) + [0, 0]))
        #expect(empty.selectiveAck == nil)
    }

    @Test(arguments: [
        ([UInt8](repeating: 0x01, count: 19), UTPError.tooShort(19)),
        (header(type: 0, version: 2), UTPError.wrongVersion(2)),
        (header(type: 5), UTPError.unknownType(5)),
        (header(type: 0, firstExtension: 1) + [0, 8, 1, 2], UTPError.extensionTruncated(offset: 20)),
        (header(type: 0, firstExtension: 9) + [0], UTPError.extensionTruncated(offset: 20)),
        (header(type: 2) + [1], UTPError.payloadNotAllowed(type: 2)),
        (header(type: 3) + [1], UTPError.payloadNotAllowed(type: 3)),
    ])
    func malformed(bytes: [UInt8], error: UTPError) {
        #expect(throws: error) { try UTPPacket(decoding: ByteBuffer(bytes: bytes)) }
    }

    /// A chain of more extensions than allowed is refused, however short each is; a chain of the
    /// most allowed is read.
    @Test func extensionChainBounded() throws {
        var chain = header(type: 0, firstExtension: 9)
        for _ in 0..<(UTPPacket.maxExtensions - 1) { chain += [9, 0] }
        let within = chain + [0, 0]
        #expect(try UTPPacket(decoding: ByteBuffer(bytes: within)).type == .data)
        var long = header(type: 0, firstExtension: 9)
        for _ in 0..<200 { long += [9, 0] }
        #expect(throws: UTPError.tooManyExtensions(UTPPacket.maxExtensions + 1)) {
            try UTPPacket(decoding: ByteBuffer(bytes: long))
        }
    }

    /// Random bytes never crash the decoder, and what it accepts encodes back to a valid packet.
    @Test func randomBytes() throws {
        var random = SplitMix64(seed: 29)
        for _ in 0..<20_000 {
            var bytes = (0..<random.next(below: 60)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if bytes.count > 0, random.next(below: 2) == 0 {
                bytes[0] = [0x01, 0x11, 0x21, 0x31, 0x41][random.next(below: 5)]
            }
            if let packet = try? UTPPacket(decoding: ByteBuffer(bytes: bytes)) {
                #expect(try UTPPacket(decoding: packet.encoded()) == packet)
            }
        }
    }
}

private func header(type: UInt8, version: UInt8 = 1, firstExtension: UInt8 = 0) -> [UInt8] {
    [type << 4 | version, firstExtension] + [UInt8](repeating: 0, count: 18)
}
