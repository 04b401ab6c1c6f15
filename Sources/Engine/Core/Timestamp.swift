#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock instant as whole milliseconds since 1970-01-01T00:00:00Z, the unit the database stores.
///
/// Engine does not use Foundation; `Store` converts to and from `Date` at its edge.
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z (negative before).
    public var rawValue: Int64

    /// Wraps milliseconds since 1970.
    public init(rawValue: Int64) { self.rawValue = rawValue }
    /// Wraps milliseconds since 1970.
    public init(millisecondsSince1970: Int64) { self.rawValue = millisecondsSince1970 }

    /// Milliseconds since 1970.
    public var millisecondsSince1970: Int64 { rawValue }

    /// The current wall-clock time (`CLOCK_REALTIME`).
    public static var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(rawValue: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    /// Milliseconds since 1970, in decimal.
    public var description: String { "\(rawValue) ms" }

    /// Orders by time.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
