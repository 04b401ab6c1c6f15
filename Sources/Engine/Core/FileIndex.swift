/// The zero-based index of a file in a torrent's file list (``Metainfo/files``, pad files included).
public struct FileIndex: Hashable, Comparable, Sendable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The raw index.
    public var value: Int

    /// Wraps a raw index.
    public init(_ value: Int) { self.value = value }

    /// Allows `let file: FileIndex = 3`.
    public init(integerLiteral value: Int) { self.value = value }

    /// The decimal index.
    public var description: String { String(value) }

    /// Orders by index.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}
