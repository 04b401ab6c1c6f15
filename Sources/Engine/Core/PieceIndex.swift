/// The zero-based index of a piece in a torrent.
///
/// Keeps a piece index from being mixed up with a byte offset, a block index or a file index. Holds
/// an `Int` for array subscripts and arithmetic; ``rawValue`` is the 32-bit unsigned integer the peer
/// wire protocol carries (metainfo limits keep every real piece count far below 2^32).
public struct PieceIndex: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// The index.
    public var value: Int

    /// Wraps an index.
    public init(_ value: Int) { self.value = value }

    /// Wraps a wire value.
    public init(rawValue: UInt32) { self.value = Int(rawValue) }

    /// Wraps a wire value.
    public init(_ rawValue: UInt32) { self.value = Int(rawValue) }

    /// Allows `let piece: PieceIndex = 3`.
    public init(integerLiteral value: Int) { self.value = value }

    /// Wraps an `Int`, or `nil` when it is negative or larger than `UInt32.max`.
    public init?(exactly value: Int) {
        guard UInt32(exactly: value) != nil else { return nil }
        self.value = value
    }

    /// The index as sent on the wire.
    public var rawValue: UInt32 { UInt32(truncatingIfNeeded: value) }

    /// The index as an `Int` (same as ``value``).
    public var intValue: Int { value }

    /// The decimal index.
    public var description: String { String(value) }

    /// Orders by index.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}
