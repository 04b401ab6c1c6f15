/// The zero-based index of a 16 KiB block inside its piece (block `i` starts at byte `i * 16384`).
public struct BlockIndex: Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The raw index.
    public var value: Int

    /// Wraps a raw index.
    public init(_ value: Int) { self.value = value }

    /// Allows `let block: BlockIndex = 3`.
    public init(integerLiteral value: Int) { self.value = value }

    /// The decimal index.
    public var description: String { String(value) }

    /// Orders by index.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}
