import Engine
import Testing

@Suite(.timeLimit(.minutes(5))) struct BitfieldTests {
    @Test func packsMostSignificantBitFirst() {
        var bits = Bitfield(count: 10)
        bits.set(0)
        bits.set(7)
        bits.set(9)
        #expect(bits.bytes == [0b1000_0001, 0b0100_0000])
        #expect(bits.cardinality == 3)
        #expect(bits.setIndices == [0, 7, 9])
        #expect(bits.description == "1000000101")
        #expect(bits.contains(9) && !bits.contains(8))
        bits.clear(0)
        bits[1] = true
        #expect(bits == Bitfield(pattern: "0100000101"))
    }

    @Test func fromBytesChecksLengthAndSpareBits() {
        #expect(Bitfield(bytes: [0xff, 0xc0], count: 10)?.cardinality == 10)
        #expect(Bitfield(bytes: [0xff, 0xe0], count: 10) == nil)  // a spare bit set
        #expect(Bitfield(bytes: [0xff], count: 10) == nil)
        #expect(Bitfield(bytes: [], count: 0)?.isNone == true)
        #expect(Bitfield(pattern: "10x") == nil)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 16, 1000])
    func allSetAndAllClear(count: Int) {
        let full = Bitfield(count: count, allSet: true)
        #expect(full.isAll && full.cardinality == count)
        #expect(Bitfield(bytes: full.bytes, count: count) == full)
        let empty = Bitfield(count: count)
        #expect(empty.isNone && empty.cardinality == 0 && empty.bytes.count == (count + 7) / 8)
    }
}
