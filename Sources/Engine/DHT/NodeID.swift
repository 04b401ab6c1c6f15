/// A DHT node id, or an info-hash as the DHT sees it: 160 bits, compared by XOR distance (BEP 5).
///
/// Held as three integers, so distances, comparisons and prefix lengths cost a few instructions and no
/// allocation.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bits 0 to 63 (the most significant first), 64 to 127, and 128 to 159 (in the high half).
    var high: UInt64
    var middle: UInt64
    var low: UInt32

    /// The id of 20 bytes `bytes`; `nil` for any other length.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 20 else { return nil }
        var high: UInt64 = 0
        var middle: UInt64 = 0
        var low: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 0..<8: high = high << 8 | UInt64(byte)
            case 8..<16: middle = middle << 8 | UInt64(byte)
            default: low = low << 8 | UInt32(byte)
            }
        }
        self.init(high: high, middle: middle, low: low)
    }

    init(high: UInt64, middle: UInt64, low: UInt32) {
        self.high = high
        self.middle = middle
        self.low = low
    }

    /// A random id (from the system's generator).
    public static func random() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        return NodeID(high: generator.next(), middle: generator.next(), low: generator.next())
    }

    /// The 20 bytes, most significant first.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: high >> shift)) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: middle >> shift)) }
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> shift)) }
        return out
    }

    /// The XOR distance to `other` (BEP 5): smaller is closer.
    public func distance(to other: NodeID) -> NodeID {
        NodeID(high: high ^ other.high, middle: middle ^ other.middle, low: low ^ other.low)
    }

    /// How many leading bits this id shares with `other`: 160 when they are equal.
    public func commonPrefixLength(with other: NodeID) -> Int {
        let distance = distance(to: other)
        if distance.high != 0 { return distance.high.leadingZeroBitCount }
        if distance.middle != 0 { return 64 + distance.middle.leadingZeroBitCount }
        return 128 + min(32, distance.low.leadingZeroBitCount)
    }

    /// Bit `index` (0 is the most significant).
    public func bit(_ index: Int) -> Bool {
        switch index {
        case 0..<64: return high >> (63 - index) & 1 == 1
        case 64..<128: return middle >> (127 - index) & 1 == 1
        default: return low >> (159 - index) & 1 == 1
        }
    }

    /// Compares as 160-bit unsigned numbers: for distances, the closer first.
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.high, lhs.middle, lhs.low) < (rhs.high, rhs.middle, rhs.low)
    }

    /// The id in hexadecimal.
    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
