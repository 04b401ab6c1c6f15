import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5)))
struct RarityIndexTests {
    /// Checks that `order` is sorted by key and consistent with `contains`.
    static func check(_ index: RarityIndex, keys: [Int?]) {
        let order = index.order.map(Int.init)
        #expect(order.count == keys.compactMap { $0 }.count)
        #expect(order.map { index.key(of: $0) } == order.map { index.key(of: $0) }.sorted())
        for (piece, key) in keys.enumerated() {
            #expect(index.contains(piece) == (key != nil))
            if let key { #expect(index.key(of: piece) == key) }
        }
        let maxKey = keys.compactMap { $0 }.max() ?? 0
        for key in 0...maxKey + 1 {
            let start = index.start(ofBucket: key)
            #expect(order[..<start].allSatisfy { index.key(of: $0) < key })
            #expect(order[start...].allSatisfy { index.key(of: $0) >= key })
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func randomOperationsKeepTheOrder(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        var shuffle = SeededRandom(seed: UInt64(seed) &* 31)
        let count = 60
        var index = RarityIndex(pieceCount: count)
        var keys: [Int?] = Array(repeating: nil, count: count)
        for _ in 0..<2_000 {
            let piece = Int.random(in: 0..<count, using: &random)
            switch (keys[piece], Int.random(in: 0..<4, using: &random)) {
            case (nil, _):
                let key = Int.random(in: 0..<6, using: &random)
                index.insert(piece, key: key, using: &shuffle)
                keys[piece] = key
            case (.some, 0):
                index.remove(piece)
                keys[piece] = nil
            case (.some(let key), 1):
                index.update(piece, key: key + 1, using: &shuffle)
                keys[piece] = key + 1
            case (.some(let key), _):
                let newKey = max(0, key - Int.random(in: 1...3, using: &random))
                index.update(piece, key: newKey, using: &shuffle)
                keys[piece] = newKey
            }
        }
        Self.check(index, keys: keys)
    }

    @Test func emptyAndSingleBucket() {
        var random = SeededRandom(seed: 1)
        var index = RarityIndex(pieceCount: 4)
        #expect(index.count == 0 && index.start(ofBucket: 3) == 0)
        for piece in 0..<4 { index.insert(piece, key: 0, using: &random) }
        index.update(2, key: 5, using: &random)
        #expect(index.order.last == 2)
        index.remove(2)
        index.remove(0)
        Self.check(index, keys: [nil, 0, nil, 0])
    }
}
