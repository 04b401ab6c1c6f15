import Engine
import Foundation
import GRDB

/// One entry of the history (`btq history`).
package struct EventRecord: Sendable, Codable, Hashable, Identifiable {
    /// Row id, increasing in the order events were recorded.
    package var id: Int64
    /// The torrent it is about; `nil` for events of btq itself.
    package var torrentId: Int64?
    /// When it happened.
    package var at: Date
    /// What happened: an `EventKind` raw value such as `added`, `removed`, `moved`, `paused`, `error`.
    package var kind: String
    /// Human-readable detail.
    package var detail: String?

    /// The columns ``init(row:)`` reads, in order.
    static let columns = "id, torrent_id, at, kind, detail"

    /// Decodes a row selected with ``columns``.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` for a value btq never writes, naming the torrent.
    init(row: Row) throws {
        var stored = StoredRow(row: row, table: "events")
        id = try stored.integer(0, "id", in: Int64.min...Int64.max)
        torrentId = try stored.optionalInteger(1, "torrent_id", in: Int64.min...Int64.max)
        stored.torrentId = torrentId
        at = Date(millisecondsSince1970: try stored.integer(2, "at", in: TorrentRecord.times))
        kind = try stored.text(3, "kind")
        detail = try stored.optionalText(4, "detail")
    }
}
