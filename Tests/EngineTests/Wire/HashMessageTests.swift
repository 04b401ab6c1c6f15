import NIOCore
import Testing

@testable import Engine

/// The BEP 52 hash messages: exact bytes, round trips through the peer wire, and every bound.
@Suite(.timeLimit(.minutes(5))) struct HashMessageTests {
    static let root = (0..<32).map { UInt8($0 * 7 &+ 1) }

    static func header(
        id: UInt8, base: UInt32 = 2, index: UInt32 = 512, length: UInt32 = 512, proofLayers: UInt32 = 3,
        root: [UInt8] = HashMessageTests.root
    ) -> [UInt8] {
        var bytes = root
        for value in [base, index, length, proofLayers] {
            bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        return bytes
    }

    static func decode(_ id: UInt8, _ bytes: [UInt8]) throws(HashMessageError) -> HashMessage {
        try HashMessage(id: id, payload: ByteBuffer(bytes: bytes))
    }

    @Test func decodesExactBytesAndEncodesThemBack() throws {
        let request = HashRequest(piecesRoot: Self.root, baseLayer: 2, index: 512, length: 512, proofLayers: 3)
        let hashes = (0..<(512 + 3) * 32).map { UInt8(truncatingIfNeeded: $0) }
        let cases: [(UInt8, [UInt8], HashMessage)] = [
            (21, Self.header(id: 21), .request(request)),
            (23, Self.header(id: 23), .reject(request)),
            (22, Self.header(id: 22) + hashes, .hashes(request, hashes: hashes)),
            (
                22, Self.header(id: 22) + hashes.prefix(512 * 32),
                .hashes(request, hashes: Array(hashes.prefix(512 * 32)))
            ),
        ]
        for (id, bytes, expected) in cases {
            let message = try Self.decode(id, bytes)
            #expect(message == expected)
            #expect(message.id == id)
            #expect(Array(message.payload.readableBytesView) == bytes)

            // Through the peer wire: an opaque message 21-23 that decodes to the same value.
            var wire = ByteBuffer()
            wire.writePeerMessage(message.peerMessage)
            #expect(wire.readableBytes == 5 + bytes.count)
            guard case .unknown(let wireID, let payload) = try wire.readPeerMessage(maxFrameLength: 1 << 20) else {
                Issue.record("not an opaque message")
                continue
            }
            #expect(try HashMessage(id: wireID, payload: payload) == expected)
        }
    }

    @Test func theLargestMessageIsAcceptedAndOneHashMoreIsNot() throws {
        let header = Self.header(id: 22, base: 0, index: 8192, length: 8192, proofLayers: 63)
        let most = [UInt8](repeating: 9, count: (8192 + 63) * 32)
        #expect(try Self.decode(22, header + most).request.length == 8192)
        #expect(throws: HashMessageError.self) { try Self.decode(22, header + most + [UInt8](repeating: 9, count: 32)) }
        // It fits the default frame limit with room to spare.
        #expect(HashMessage.headerLength + most.count + 1 < PeerMessageDecoder.defaultMaxFrameLength)
    }

    @Test(arguments: [
        ("wrong id", UInt8(20), header(id: 20)),
        ("short header", 21, Array(header(id: 21).dropLast())),
        ("request with a tail", 21, header(id: 21) + [0]),
        ("reject with a tail", 23, header(id: 23) + [0]),
        ("length zero", 21, header(id: 21, index: 0, length: 0)),
        ("length not a power of two", 21, header(id: 21, index: 0, length: 3)),
        ("length over the limit", 21, header(id: 21, index: 0, length: 16384)),
        ("index not a multiple of length", 21, header(id: 21, index: 5, length: 4)),
        ("base layer too high", 21, header(id: 21, base: 64)),
        ("proof layers too many", 21, header(id: 21, proofLayers: 64)),
        ("hashes fewer than length", 22, header(id: 22, length: 4) + [UInt8](repeating: 0, count: 3 * 32)),
        (
            "hashes more than length and proofs", 22,
            header(id: 22, length: 4, proofLayers: 1) + [UInt8](repeating: 0, count: 6 * 32)
        ),
        ("hashes not whole", 22, header(id: 22, length: 4) + [UInt8](repeating: 0, count: 4 * 32 + 5)),
    ])
    func refusesMalformedMessages(_ name: String, _ id: UInt8, _ bytes: [UInt8]) {
        #expect(throws: HashMessageError.self, "\(name)") { try Self.decode(id, bytes) }
    }
}
