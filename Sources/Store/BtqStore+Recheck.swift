import Engine
import Foundation
import GRDB

/// What a full recheck (`btq verify`) records.
extension BtqStore {
    /// Records that a recheck found all of a torrent's wanted data verified: from now on it is a seed (a
    /// queued torrent with `completed_at` set waits for a seed slot, not a download slot). The first time,
    /// `completed_at` is set and a `completed` event says so; afterwards nothing changes.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.removed` for a removed torrent.
    package func markComplete(torrentId: Int64) throws {
        try writer.write { db in
            guard let record = try Self.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            guard !record.isRemoved else { throw StoreError.removed(id: torrentId) }
            guard record.completedAt == nil else { return }
            let now = Date().millisecondsSince1970
            try db.execute(sql: "UPDATE torrents SET completed_at = ? WHERE id = ?", arguments: [now, torrentId])
            try Self.insertEvent(
                torrentId: torrentId, at: now, kind: .completed, detail: "all wanted data found by a recheck", db)
        }
    }

    /// The state a torrent had before it was last put in the `checking` state (read from its history:
    /// the `from -> checking` detail that ``setState(torrentId:_:error:)`` writes), or `nil` when the
    /// history does not say. The daemon, which runs a check `btq verify` handed to it, uses it to put the
    /// torrent back where the user had it (a paused torrent stays paused).
    package func stateBeforeChecking(torrentId: Int64) throws -> TorrentState? {
        let suffix = " -> \(TorrentState.checking.rawValue)"
        let detail = try writer.read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT detail FROM events WHERE torrent_id = ? AND detail LIKE ?
                    ORDER BY at DESC, id DESC LIMIT 1
                    """,
                arguments: [torrentId, "%" + suffix])
        }
        guard let detail, detail.hasSuffix(suffix) else { return nil }
        return TorrentState(rawValue: String(detail.dropLast(suffix.count)))
    }
}
