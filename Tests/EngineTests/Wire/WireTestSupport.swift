import NIOCore
import Testing

@testable import Engine

/// Bytes from hexadecimal digits; spaces are ignored.
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.replacingOccurrences(of: " ", with: "").utf8)
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

/// A buffer holding exactly `bytes`.
func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
}

/// A buffer of `count` bytes counting up from `seed`.
func block(_ count: Int, seed: UInt8 = 0) -> ByteBuffer {
    ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ Int(seed)) })
}

/// A message and its exact wire bytes.
struct WireVector: Sendable, CustomTestStringConvertible {
    let message: PeerMessage
    let bytes: [UInt8]

    init(_ message: PeerMessage, _ hex: String) {
        self.message = message
        self.bytes = hexBytes(hex)
    }

    var testDescription: String { message.description }

    /// One vector per message kind, and edge cases of the variable-length ones.
    static let all: [WireVector] = [
        WireVector(.keepAlive, "00000000"),
        WireVector(.choke, "00000001 00"),
        WireVector(.unchoke, "00000001 01"),
        WireVector(.interested, "00000001 02"),
        WireVector(.notInterested, "00000001 03"),
        WireVector(.have(PieceIndex(0x0102_0304)), "00000005 04 01020304"),
        WireVector(.bitfield(buffer([0xFF, 0x80])), "00000003 05 ff80"),
        WireVector(
            .request(BlockRequest(piece: 1, begin: 0x4000, length: 0x4000)), "0000000d 06 00000001 00004000 00004000"),
        WireVector(.piece(index: 2, begin: 0x8000, block: buffer([0xDE, 0xAD])), "0000000b 07 00000002 00008000 dead"),
        WireVector(.piece(index: 3, begin: 0, block: buffer([])), "00000009 07 00000003 00000000"),
        WireVector(
            .cancel(BlockRequest(piece: 0xFFFF_FFFF, begin: 0, length: 1)), "0000000d 08 ffffffff 00000000 00000001"),
        WireVector(.port(6881), "00000003 09 1ae1"),
        WireVector(.suggestPiece(5), "00000005 0d 00000005"),
        WireVector(.haveAll, "00000001 0e"),
        WireVector(.haveNone, "00000001 0f"),
        WireVector(
            .rejectRequest(BlockRequest(piece: 9, begin: 16, length: 32)), "0000000d 10 00000009 00000010 00000020"),
        WireVector(.allowedFast(7), "00000005 11 00000007"),
        WireVector(.extended(id: 0, payload: buffer(Array("de".utf8))), "00000004 14 00 6465"),
        WireVector(.extended(id: 3, payload: buffer([])), "00000002 14 03"),
        WireVector(.unknown(id: 21, payload: buffer([1, 2, 3])), "00000004 15 010203"),
        WireVector(.unknown(id: 0xFF, payload: buffer([])), "00000001 ff"),
    ]
}

/// A handshake with recognizable fields.
let sampleHandshake = PeerHandshake(
    infoHash: Array(0..<20),
    peerId: Array("-BQ0001-abcdefghijkl".utf8),
    reserved: [.fast, .extensionProtocol, .dht]
)

/// The wire bytes of ``sampleHandshake``.
let sampleHandshakeBytes: [UInt8] =
    [19] + Array("BitTorrent protocol".utf8) + [0, 0, 0, 0, 0, 0x10, 0, 0x05] + Array(0..<20)
    + Array("-BQ0001-abcdefghijkl".utf8)
