import Foundation
import GRDB

/// One entry of the history (`btq history`).
public struct EventRecord: Sendable, Codable, Hashable, Identifiable {
    /// Row id, increasing in the order events were recorded.
    public var id: Int64
    /// The torrent it is about; `nil` for events of btq itself.
    public var torrentId: Int64?
    /// When it happened.
    public var at: Date
    /// What happened: an `EventKind` raw value such as `added`, `removed`, `moved`, `paused`, `error`.
    public var kind: String
    /// Human-readable detail.
    public var detail: String?

    /// The columns ``init(row:)`` reads, in order.
    static let columns = "id, torrent_id, at, kind, detail"

    init(row: Row) {
        id = row[0]
        torrentId = row[1]
        at = Date(millisecondsSince1970: row[2])
        kind = row[3]
        detail = row[4]
    }
}
