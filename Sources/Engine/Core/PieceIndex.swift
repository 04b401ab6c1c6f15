/// The zero-based index of a piece in a torrent.
///
/// Wraps the 32-bit unsigned integer the peer wire protocol carries, so a piece index cannot be
/// mixed up with a byte offset, a block index or a file index.
public struct PieceIndex: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// The index as sent on the wire.
    public var rawValue: UInt32

    /// Wraps a wire value.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Wraps a wire value.
    public init(_ rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Wraps an integer literal; the literal must fit in `UInt32`.
    public init(integerLiteral value: UInt32) {
        self.rawValue = value
    }

    /// Wraps an `Int`, or `nil` when it is negative or larger than `UInt32.max`.
    public init?(exactly value: Int) {
        guard let raw = UInt32(exactly: value) else { return nil }
        self.rawValue = raw
    }

    /// The index as an `Int`, for subscripting and arithmetic.
    public var intValue: Int { Int(rawValue) }

    /// The decimal index.
    public var description: String { String(rawValue) }

    /// Orders by index.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
