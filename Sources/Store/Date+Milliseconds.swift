import Engine
import Foundation

extension Date {
    /// The database's time unit: whole milliseconds since 1970 (rounded down).
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A date from milliseconds since 1970.
    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// The same instant as an Engine ``Timestamp``.
    var timestamp: Timestamp { Timestamp(rawValue: millisecondsSince1970) }

    /// The instant of an Engine ``Timestamp`` (also for the command line's output).
    package init(_ timestamp: Timestamp) { self.init(millisecondsSince1970: timestamp.rawValue) }
}
