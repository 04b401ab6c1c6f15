import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerBitfieldTests {
    @Test func bitsAreMostSignificantFirst() {
        var bitfield = PeerBitfield(count: 10)
        #expect(bitfield.bytes == [0, 0])
        let inserted = [bitfield.insert(0), bitfield.insert(9), bitfield.insert(9)]
        #expect(inserted == [true, true, false])
        #expect(bitfield.bytes == [0x80, 0x40])
        #expect(bitfield.description == "1000000001")
        #expect(bitfield.cardinality == 2)
        #expect(bitfield.indices == [0, 9])
        #expect(bitfield.contains(9))
        #expect(!bitfield.contains(8))
        #expect(!bitfield.contains(10))
        let removed = [bitfield.remove(0), bitfield.remove(0)]
        #expect(removed == [true, false])
        #expect(bitfield.cardinality == 1)
    }

    @Test(arguments: [(0, [UInt8]()), (1, [0x80]), (8, [0xFF]), (9, [0xFF, 0x80]), (14, [0xFF, 0xFC])])
    func fullBitfieldLeavesSpareBitsClear(count: Int, bytes: [UInt8]) {
        let full = PeerBitfield.full(count: count)
        #expect(full.bytes == bytes)
        #expect(full.isFull)
        #expect(full.cardinality == count)
        #expect(PeerBitfield(bytes: bytes, count: count) == full)
    }

    @Test(arguments: [
        ([UInt8](), 1), ([0x80], 9), ([0x80, 0x00, 0x00], 9), ([0x00, 0x40], 9), ([0x01], 7), ([0x00, 0x01], 15),
    ])
    func refusesWrongLengthOrSpareBits(bytes: [UInt8], count: Int) {
        #expect(PeerBitfield(bytes: bytes, count: count) == nil)
    }

    @Test func acceptsReceivedBytes() throws {
        let bitfield = try #require(PeerBitfield(bytes: [0b1010_0000, 0b1000_0000], count: 9))
        #expect(bitfield.description == "101000001")
        #expect(bitfield.cardinality == 3)
        #expect(!bitfield.isFull)
        #expect(!bitfield.isEmpty)
        #expect(PeerBitfield(count: 9).isEmpty)
        #expect(PeerBitfield.byteCount(forPieceCount: 17) == 3)
    }
}
