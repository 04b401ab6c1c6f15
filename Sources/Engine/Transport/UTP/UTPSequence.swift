/// Comparison of 16-bit uTP sequence numbers, which wrap: `a` is before `b` when `b - a`, taken
/// modulo 2^16, is between 1 and 2^15 - 1.
enum UTPSequence {
    /// Whether `a` comes strictly before `b`.
    static func precedes(_ a: UInt16, _ b: UInt16) -> Bool {
        let distance = b &- a
        return distance != 0 && distance < 0x8000
    }

    /// How far `b` is after `a` (modulo 2^16).
    static func distance(from a: UInt16, to b: UInt16) -> Int { Int(b &- a) }
}
