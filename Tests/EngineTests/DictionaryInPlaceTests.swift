import Testing

@testable import Engine

/// ``Swift/Dictionary/modifyValue(forKey:_:)``: a change made where the table keeps the value.
@Suite(.timeLimit(.minutes(1)))
struct DictionaryInPlaceTests {
    @Test func changesTheStoredValueAndReturnsWhatTheChangeReturns() {
        var table: [Int: [String]] = [1: ["a"], 2: ["b"]]
        let count = table.modifyValue(forKey: 1) { names -> Int in
            names.append("c")
            return names.count
        }
        #expect(count == 2)
        #expect(table == [1: ["a", "c"], 2: ["b"]])
    }

    @Test func aMissingKeyRunsNothingAndAddsNothing() {
        var table: [Int: [String]] = [1: ["a"]]
        var ran = false
        let result: Int? = table.modifyValue(forKey: 7) { _ in
            ran = true
            return 0
        }
        #expect(result == nil)
        #expect(!ran)
        #expect(table == [1: ["a"]])
    }

    @Test func aSharedTableIsCopiedBeforeTheChange() {
        var table: [Int: [String]] = [1: ["a"]]
        let before = table
        table.modifyValue(forKey: 1) { $0.append("b") }
        #expect(before == [1: ["a"]])
        #expect(table == [1: ["a", "b"]])
    }
}
