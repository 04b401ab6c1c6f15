/// The zero-based index of a file in a torrent's file list (stream order, pad files included).
public struct FileIndex: RawRepresentable, Hashable, Comparable, Sendable, Codable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The index as an integer, `>= 0`.
    public var rawValue: Int

    /// Wraps an index.
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Wraps an index.
    public init(_ value: Int) { self.rawValue = value }
    /// Wraps an integer literal.
    public init(integerLiteral value: Int) { self.rawValue = value }

    /// The index in decimal.
    public var description: String { String(rawValue) }

    /// Orders by index.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
