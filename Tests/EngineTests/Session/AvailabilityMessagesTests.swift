import NIOCore
import Testing

@testable import Engine

/// What we tell a peer we have after the handshake: `have none` and `have all` under the Fast
/// extension, a bitfield otherwise (none when we have nothing).
@Suite struct AvailabilityMessagesTests {
    /// Three pieces of one block each; `have` lists the verified ones.
    static func picker(have: [Int]) -> PiecePicker {
        var picker = PiecePicker(layout: PieceLayout(pieceLength: 16_384, totalLength: 3 * 16_384))
        for piece in have { picker.pieceVerified(PieceIndex(piece)) }
        return picker
    }

    static func bitfield(_ pieces: [Int]) -> PeerMessage {
        var bitfield = PeerBitfield(count: 3)
        for piece in pieces { bitfield.insert(PieceIndex(piece)) }
        return .bitfield(ByteBuffer(bytes: bitfield.bytes))
    }

    @Test func nothingYet() {
        #expect(Self.picker(have: []).availabilityMessages(fast: true) == [.haveNone])
        #expect(Self.picker(have: []).availabilityMessages(fast: false).isEmpty)
    }

    @Test func everything() {
        #expect(Self.picker(have: [0, 1, 2]).availabilityMessages(fast: true) == [.haveAll])
        #expect(Self.picker(have: [0, 1, 2]).availabilityMessages(fast: false) == [Self.bitfield([0, 1, 2])])
    }

    @Test func someIsABitfieldEitherWay() {
        let picker = Self.picker(have: [0, 2])
        #expect(picker.availabilityMessages(fast: true) == [Self.bitfield([0, 2])])
        #expect(picker.availabilityMessages(fast: false) == [Self.bitfield([0, 2])])
    }
}
