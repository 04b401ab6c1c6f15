import Testing

@testable import Engine

/// The ring of values keyed by wrapping 16-bit sequence numbers that holds a uTP connection's packets
/// in flight and out of order: it answers as a dictionary would, across the wrap, however far apart
/// its keys are.
@Suite struct UTPSequenceTableTests {
    /// Keys across the wrap from 65,535 to 0: each found, replaced, removed, and the count kept.
    @Test func keysAcrossTheWrap() {
        var table = UTPSequenceTable<Int>()
        #expect(table.isEmpty && table.capacity == 0)
        let keys: [UInt16] = [65_530, 65_531, 65_535, 0, 1, 9]
        for key in keys { table[key] = Int(key) * 2 }
        #expect(table.count == keys.count)
        for key in keys { #expect(table[key] == Int(key) * 2) }
        #expect(table[65_532] == nil && table[2] == nil)
        table[0] = -1
        #expect(table[0] == -1 && table.count == keys.count)
        #expect(table.removeValue(forKey: 65_535) == 65_535 * 2)
        #expect(table.removeValue(forKey: 65_535) == nil)
        table[1] = nil
        #expect(table.count == keys.count - 2)
        #expect(Set(table.map(\.key)) == [65_530, 65_531, 0, 9])
        table.removeAll()
        #expect(table.isEmpty && table.capacity == 0 && table[9] == nil)
    }

    /// Keys further apart than the ring spans make it grow, never lose or mix up a value: 1,024
    /// consecutive numbers need 1,024 slots, and two keys 32,768 apart share no slot of 65,536.
    @Test func growsWhenKeysSpreadWider() {
        var table = UTPSequenceTable<UInt16>()
        for offset in 0..<1024 { table[UInt16(truncatingIfNeeded: 64_000 + offset)] = UInt16(offset) }
        #expect(table.count == 1024 && table.capacity == 1024)
        for offset in 0..<1024 { #expect(table[UInt16(truncatingIfNeeded: 64_000 + offset)] == UInt16(offset)) }
        var far = UTPSequenceTable<UInt16>()
        far[5] = 1
        far[5 &+ 32_768] = 2
        #expect(far.capacity == 65_536)
        #expect(far[5] == 1 && far[32_773] == 2 && far.count == 2)
    }

    /// Random insertions, replacements and removals in a moving window of sequence numbers, as a
    /// connection makes them, agree with a dictionary at every step.
    @Test func agreesWithADictionary() {
        var random = SplitMix64(seed: 29)
        var table = UTPSequenceTable<UInt64>()
        var model: [UInt16: UInt64] = [:]
        var base: UInt16 = 65_000
        for step in 0..<20_000 {
            let key = base &+ UInt16(random.next(below: 700))
            switch random.next(below: 4) {
            case 0, 1:
                let value = random.next()
                table[key] = value
                model[key] = value
            case 2:
                #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key))
            default:
                // The window moves on: what falls behind it is acked.
                for _ in 0..<random.next(below: 40) {
                    #expect(table.removeValue(forKey: base) == model.removeValue(forKey: base))
                    base = base &+ 1
                }
            }
            if step % 97 == 0 {
                #expect(table.count == model.count)
                #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == model)
            }
            #expect(table[key] == model[key])
        }
    }
}
