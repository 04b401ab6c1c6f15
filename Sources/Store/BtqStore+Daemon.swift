import Engine
import Foundation
import GRDB

/// The queries the queue daemon runs every pass: bounded, so a pass costs the same with ten torrents
/// in the queue or a hundred thousand.
extension BtqStore {
    /// The torrents with these ids (removed ones included), in no particular order.
    package func torrents(ids: some Collection<Int64>) throws -> [TorrentRecord] {
        guard !ids.isEmpty else { return [] }
        return try writer.read { db in
            let statement = try db.cachedStatement(sql: "SELECT \(TorrentRecord.columns) FROM torrents WHERE id = ?")
            return try ids.compactMap { try Row.fetchOne(statement, arguments: [$0]).map(TorrentRecord.init) }
        }
    }

    /// Live torrents in `state`, in queue order, at most `limit`.
    package func torrents(in state: TorrentState, limit: Int) throws -> [TorrentRecord] {
        try fetchQueue(where: "state = ?", [state.rawValue], limit: limit)
    }

    /// What may start downloading, in queue order, at most `limit`: queued or interrupted torrents that
    /// never completed, and magnets waiting for their metadata.
    package func downloadCandidates(limit: Int) throws -> [TorrentRecord] {
        try fetchQueue(
            where: "state IN ('queued', 'downloading', 'metadata') AND completed_at IS NULL", [], limit: limit)
    }

    /// What may start seeding, in queue order, at most `limit`: seeds, and completed torrents queued for a
    /// seed slot.
    package func seedCandidates(limit: Int) throws -> [TorrentRecord] {
        try fetchQueue(
            where: "state = 'seeding' OR (state IN ('queued', 'downloading') AND completed_at IS NOT NULL)", [],
            limit: limit)
    }

    private func fetchQueue(
        where condition: String, _ arguments: StatementArguments, limit: Int
    ) throws
        -> [TorrentRecord]
    {
        try writer.read { db in
            let sql = """
                SELECT \(TorrentRecord.columns) FROM torrents
                WHERE removed_at IS NULL AND (\(condition)) ORDER BY queue_position LIMIT ?
                """
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments + [max(0, limit)])
                .map(TorrentRecord.init)
        }
    }
}

extension BtqStore {
    /// Forgets that a torrent was complete (a recheck or the check at start found data missing): it is
    /// a download again, not a seed, until it completes anew.
    package func markIncomplete(torrentId: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE torrents SET completed_at = NULL WHERE id = ?", arguments: [torrentId])
        }
    }
}
