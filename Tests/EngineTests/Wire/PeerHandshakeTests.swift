import NIOCore
import NIOTestUtils
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerHandshakeTests {
    @Test func encodesToExactBytes() {
        var out = ByteBuffer()
        #expect(out.writePeerHandshake(sampleHandshake) == 68)
        #expect(Array(out.readableBytesView) == sampleHandshakeBytes)
    }

    @Test func decodesAndReencodesExactBytes() throws {
        var input = buffer(sampleHandshakeBytes)
        let handshake = try #require(try input.readPeerHandshake())
        #expect(handshake == sampleHandshake)
        #expect(input.readableBytes == 0)
        var out = ByteBuffer()
        out.writePeerHandshake(handshake)
        #expect(Array(out.readableBytesView) == sampleHandshakeBytes)
    }

    @Test func waitsForAll68Bytes() throws {
        for cut in 0..<68 {
            var input = buffer(Array(sampleHandshakeBytes.prefix(cut)))
            #expect(try input.readPeerHandshake() == nil)
            #expect(input.readerIndex == 0)
        }
    }

    @Test(
        arguments: [
            ([0x14], 0x14),
            ([0x00], 0x00),
            ([0x13] + Array("BitTorrent protocoL".utf8), 0x13),
            ([0x13] + Array("Bit".utf8) + [0x00], 0x13),
            ([0x13, 0x62], 0x13),
        ] as [([UInt8], UInt8)]
    )
    func refusesAWrongProtocolNameAsSoonAsItShows(prefix: [UInt8], firstByte: UInt8) {
        var input = buffer(prefix)
        #expect(throws: PeerWireError.invalidProtocolName(length: firstByte)) { try input.readPeerHandshake() }
        #expect(input.readerIndex == 0)
    }

    @Test func verifierDripFeedsHandshakes() throws {
        let other = PeerHandshake(infoHash: [UInt8](repeating: 0xAB, count: 20), peerId: Array(20..<40))
        var otherBytes = ByteBuffer()
        otherBytes.writePeerHandshake(other)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(buffer(sampleHandshakeBytes), [sampleHandshake]), (otherBytes, [other])]
        ) { PeerHandshakeDecoder() }
    }

    @Test func reservedBitsMapToWireBytes() {
        let bits = ReservedBits(bytes: [0, 0, 0, 0, 0, 0x10, 0, 0x15])
        #expect(bits == [.extensionProtocol, .fast, .dht, .v2Upgrade])
        #expect(bits?.supportsFast == true)
        #expect(bits?.supportsExtensionProtocol == true)
        #expect(bits?.supportsDHT == true)
        #expect(bits?.supportsV2Upgrade == true)
        #expect(ReservedBits.fast.bytes == [0, 0, 0, 0, 0, 0, 0, 0x04])
        #expect(ReservedBits.extensionProtocol.bytes == [0, 0, 0, 0, 0, 0x10, 0, 0])
        #expect(ReservedBits.bit(byte: 0, mask: 0x80).rawValue == 1 << 63)
        #expect(ReservedBits(rawValue: 0x8000_0000_0010_0004).isSet(byte: 0, mask: 0x80))
        #expect(ReservedBits.extensionProtocol.description == "0000000000100000")
        #expect(ReservedBits(bytes: [0, 0]) == nil)
    }

    @Test func unknownReservedBitsSurviveARoundTrip() throws {
        let odd = PeerHandshake(
            infoHash: Array(0..<20), peerId: Array(0..<20), reserved: ReservedBits(rawValue: 0x0102_0304_0506_0708))
        var out = ByteBuffer()
        out.writePeerHandshake(odd)
        #expect(Array(out.readableBytesView)[20..<28] == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try out.readPeerHandshake() == odd)
    }

    @Test func handshakeForATorrentUsesItsWireHash() throws {
        let v1 = try #require(InfoHashV1(bytes: Array(100..<120)))
        let hashes = try #require(InfoHashes(v1: v1, v2: nil))
        #expect(PeerHandshake(infoHashes: hashes, peerId: Array(0..<20)).infoHash == Array(100..<120))
    }
}
