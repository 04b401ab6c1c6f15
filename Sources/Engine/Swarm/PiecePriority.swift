/// How much a piece (or file) is wanted: 0 means never download it; higher levels are picked before
/// lower ones, strictly.
public struct PiecePriority: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// 0 through 7.
    public let level: UInt8

    /// Clamps `level` to 0...7.
    public init(_ level: UInt8) { self.level = min(level, Self.highest.level) }

    private init(exactly level: UInt8) { self.level = level }

    /// Never downloaded (a skipped file).
    public static let skip = PiecePriority(exactly: 0)
    /// Picked after everything else.
    public static let low = PiecePriority(exactly: 1)
    /// The default.
    public static let normal = PiecePriority(exactly: 4)
    /// Picked first.
    public static let highest = PiecePriority(exactly: 7)

    /// True unless ``skip``.
    public var isWanted: Bool { level > 0 }

    /// The level as a number.
    public var description: String { String(level) }

    /// Orders by level.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.level < rhs.level }
}

extension PiecePriority {
    /// The priority of each of `files`: `chosen` when it has one per file, else normal; pad files are
    /// always skipped. Read field by field: no file is built.
    static func perFile(of files: TorrentFiles, chosen: [PiecePriority]) -> [PiecePriority] {
        let useChosen = chosen.count == files.count
        return files.indices.map { files.isPad(at: $0) ? .skip : useChosen ? chosen[$0] : .normal }
    }
}
