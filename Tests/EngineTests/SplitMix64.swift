import Engine

/// The tests' seeded generator is the engine's own (SplitMix64), so randomized tests repeat exactly.
typealias SplitMix64 = SeededRandom

extension SeededRandom {
    /// A value in `0..<bound` (`bound` > 0).
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
