import Engine
import Foundation
import GRDB

/// The queue and what works it: a torrent's place in the queue and its removal, its state and what a
/// recheck found, and the bounded queries the queue daemon runs every pass. Most of the queue manager's
/// ``QueueStore`` port (the database is the queue) is this part's; ``EnginePorts`` implements the port.
package struct TorrentQueue: Sendable {
    let writer: any DatabaseWriter

    /// Removes a torrent from the queue; the torrents behind it move up one place.
    ///
    /// Without `purge` it is a soft delete: `removed_at` is set, its queue position cleared (read as `-1`),
    /// its state, files, progress, peers and history kept, and a `removed` event recorded. Soft-removing a
    /// torrent that is already removed changes nothing. With `purge` its row and everything that belongs
    /// to it (files, trackers, progress, peers, events) are deleted; removed torrents can be purged too.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id.
    package func remove(torrentId: Int64, purge: Bool) throws {
        try writer.write { db in
            guard let record = try TorrentRows.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            if purge {
                try db.execute(sql: "DELETE FROM torrents WHERE id = ?", arguments: [torrentId])
            } else if !record.isRemoved {
                let now = Date().millisecondsSince1970
                try db.execute(
                    sql: "UPDATE torrents SET removed_at = ?, queue_position = NULL WHERE id = ?",
                    arguments: [now, torrentId])
                try TorrentRows.insertEvent(
                    torrentId: torrentId, at: now, kind: .removed, detail: "was \(record.state.rawValue)", db)
            }
            if !record.isRemoved {
                try db.execute(
                    sql: """
                        UPDATE torrents SET queue_position = queue_position - 1
                        WHERE removed_at IS NULL AND queue_position > ?
                        """,
                    arguments: [record.queuePosition])
            }
        }
    }

    /// Moves a torrent in the queue, keeping positions dense (`0..<n` over the torrents not removed), and
    /// records a `moved` event when its place changed. Moving the head up or the tail down changes nothing.
    ///
    /// - Returns: its new position.
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.removed` for a removed torrent.
    @discardableResult
    package func move(torrentId: Int64, _ move: QueueMove) throws -> Int {
        try writer.write { db in
            guard let record = try TorrentRows.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            guard !record.isRemoved else { throw StoreError.removed(id: torrentId) }
            let old = record.queuePosition
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM torrents WHERE removed_at IS NULL") ?? 0
            let new =
                switch move {
                case .up: max(0, old - 1)
                case .down: min(count - 1, old + 1)
                case .top: 0
                case .bottom: count - 1
                }
            guard new != old else { return old }
            if new < old {
                try db.execute(
                    sql: """
                        UPDATE torrents SET queue_position = queue_position + 1
                        WHERE removed_at IS NULL AND queue_position >= ? AND queue_position < ?
                        """,
                    arguments: [new, old])
            } else {
                try db.execute(
                    sql: """
                        UPDATE torrents SET queue_position = queue_position - 1
                        WHERE removed_at IS NULL AND queue_position > ? AND queue_position <= ?
                        """,
                    arguments: [old, new])
            }
            try db.execute(sql: "UPDATE torrents SET queue_position = ? WHERE id = ?", arguments: [new, torrentId])
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: .moved,
                detail: "\(move.rawValue): position \(old) -> \(new)", db)
            return new
        }
    }

    /// Changes a torrent's state and last error (`error` replaces it; `nil` clears it), with a history
    /// event: `paused`, `resumed` (leaving paused, or going from error back to queued), `started` (becoming
    /// active from an inactive state), `checking`, `completed` (entering seeding or completed the first
    /// time), `error`, or
    /// `state`; the detail says `from -> to` and the error. `startedAt` and `completedAt` are set the first time. Setting the state
    /// and error the torrent already has changes nothing.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.removed` for a removed torrent.
    package func setState(torrentId: Int64, _ state: TorrentState, error: String? = nil) throws {
        try writer.write { db in try TorrentRows.setState(torrentId: torrentId, state, error: error, db) }
    }

    /// Changes several torrents' states and clears their last errors in one transaction, each as
    /// ``setState(torrentId:_:error:)`` does; torrents that no longer exist or were removed are skipped.
    package func setStates(_ changes: [(torrentId: Int64, state: TorrentState)]) throws {
        guard !changes.isEmpty else { return }
        try writer.write { db in
            for change in changes {
                do {
                    try TorrentRows.setState(torrentId: change.torrentId, change.state, error: nil, db)
                } catch let error as StoreError where [.notFound, .removed].contains(error.code) {
                    continue
                }
            }
        }
    }

    /// Points a torrent at another save folder, with a `location` event naming it; its data is not moved
    /// (the check at its next start finds what is there).
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id.
    package func setSaveDirectory(torrentId: Int64, _ path: String) throws {
        try writer.write { db in
            guard try TorrentRows.fetchTorrent(id: torrentId, db) != nil else {
                throw StoreError.notFound(id: torrentId)
            }
            try db.execute(sql: "UPDATE torrents SET save_dir = ? WHERE id = ?", arguments: [path, torrentId])
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: "location", detail: path, db)
        }
    }

    /// Records an event in a torrent's history.
    package func recordEvent(torrentId: Int64, _ kind: EventKind, detail: String?) throws {
        try writer.write { db in
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: kind, detail: detail, db)
        }
    }
}

/// What a full recheck (`btq verify`) records.
extension TorrentQueue {
    /// Records that a recheck found all of a torrent's wanted data verified: from now on it is a seed (a
    /// queued torrent with `completed_at` set waits for a seed slot, not a download slot). The first time,
    /// `completed_at` is set and a `completed` event says so; afterwards nothing changes.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.removed` for a removed torrent.
    package func markComplete(torrentId: Int64) throws {
        try writer.write { db in
            guard let record = try TorrentRows.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            guard !record.isRemoved else { throw StoreError.removed(id: torrentId) }
            guard record.completedAt == nil else { return }
            let now = Date().millisecondsSince1970
            try db.execute(sql: "UPDATE torrents SET completed_at = ? WHERE id = ?", arguments: [now, torrentId])
            try TorrentRows.insertEvent(
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

/// The queries the queue daemon runs every pass: bounded, so a pass costs the same with ten torrents
/// in the queue or a hundred thousand.
extension TorrentQueue {
    /// The torrents with these ids (removed ones included), in no particular order.
    package func torrents(ids: some Collection<Int64>) throws -> [TorrentRecord] {
        guard !ids.isEmpty else { return [] }
        return try writer.read { db in
            let statement = try db.cachedStatement(sql: "SELECT \(TorrentRecord.columns) FROM torrents WHERE id = ?")
            return try ids.compactMap { try Row.fetchOne(statement, arguments: [$0]).map(TorrentRecord.init) }
        }
    }

    /// Of the torrents `ids`, the rows whose followed columns changed after the queue's generation `since`
    /// (removed ones included) and the ids deleted since (schema 17's stamps): a daemon that read them at
    /// `since` reads only these. Further back than the deleted ids are kept, every row is read and the
    /// missing ones are the deleted.
    package func torrentsChanged(
        among ids: Set<Int64>, since: Int64
    ) throws -> (
        changed: [TorrentRecord], deleted: Set<Int64>
    ) {
        guard !ids.isEmpty else { return ([], []) }
        return try writer.read { db in
            let now = try Int64.fetchOne(db, sql: "SELECT value FROM queue_generation WHERE id = 0") ?? 0
            let byId = try db.cachedStatement(sql: "SELECT \(TorrentRecord.columns) FROM torrents WHERE id = ?")
            guard now - since <= Self.deletedIdsKept else {
                let rows = try ids.compactMap { try Row.fetchOne(byId, arguments: [$0]).map(TorrentRecord.init) }
                return (rows, ids.subtracting(rows.map(\.id)))
            }
            let changedIds = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM torrents WHERE changed_generation > ?"), arguments: [since]
            ).filter { ids.contains($0) }
            let rows = try changedIds.compactMap { try Row.fetchOne(byId, arguments: [$0]).map(TorrentRecord.init) }
            let deleted = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT torrent_id FROM deleted_torrents WHERE generation > ?"),
                arguments: [since]
            ).filter { ids.contains($0) }
            return (rows, Set(deleted))
        }
    }

    /// How many changes back the ids of deleted torrents are kept (schema 17's trigger).
    static let deletedIdsKept: Int64 = 1_000_000

    /// Live torrents in `state`, in queue order, at most `limit`.
    package func torrents(in state: TorrentState, limit: Int) throws -> [TorrentRecord] {
        try fetchQueue(where: "state = ?", [state.rawValue], limit: limit)
    }

    /// What may start downloading, in queue order, at most `limit`: queued or interrupted torrents that
    /// never completed, and magnets waiting for their metadata.
    package func downloadCandidates(limit: Int, excluding: Set<Int64> = []) throws -> [TorrentRecord] {
        try fetchQueue(
            where: "state IN ('queued', 'downloading', 'metadata') AND completed_at IS NULL", [], limit: limit,
            excluding: excluding)
    }

    /// What may be checked ahead of a download slot, in queue order, at most `limit`: queued torrents with
    /// metainfo that never ran (`started_at` unset) and are not known complete.
    package func checkAheadCandidates(limit: Int, excluding: Set<Int64> = []) throws -> [TorrentRecord] {
        try fetchQueue(
            where: "state = 'queued' AND completed_at IS NULL AND started_at IS NULL AND has_metainfo", [],
            limit: limit, excluding: excluding)
    }

    /// What may start seeding, in queue order, at most `limit`: seeds, and completed torrents queued for a
    /// seed slot.
    package func seedCandidates(limit: Int, excluding: Set<Int64> = []) throws -> [TorrentRecord] {
        try fetchQueue(
            where: "state = 'seeding' OR (state IN ('queued', 'downloading') AND completed_at IS NOT NULL)", [],
            limit: limit, excluding: excluding)
    }

    /// The first `limit` rows in queue order that meet `condition`, past those in `excluding` (the torrents
    /// a daemon works already, however many): their ids are read first, so the rows skipped cost an integer
    /// each, not a record.
    private func fetchQueue(
        where condition: String, _ arguments: StatementArguments, limit: Int, excluding: Set<Int64> = []
    ) throws
        -> [TorrentRecord]
    {
        try writer.read { db in
            let filter = "removed_at IS NULL AND (\(condition))"
            guard !excluding.isEmpty else {
                let sql =
                    "SELECT \(TorrentRecord.columns) FROM torrents WHERE \(filter) ORDER BY queue_position LIMIT ?"
                return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments + [max(0, limit)])
                    .map(TorrentRecord.init)
            }
            var wanted: [Int64] = []
            let ids = try Int64.fetchCursor(
                db.cachedStatement(sql: "SELECT id FROM torrents WHERE \(filter) ORDER BY queue_position"),
                arguments: arguments)
            while wanted.count < limit, let id = try ids.next() {
                if !excluding.contains(id) { wanted.append(id) }
            }
            guard !wanted.isEmpty else { return [] }
            return try wanted.compactMap { try TorrentRows.fetchTorrent(id: $0, db) }
        }
    }

    /// Forgets that a torrent was complete (a recheck or the check at start found data missing): it is
    /// a download again, not a seed, until it completes anew.
    package func markIncomplete(torrentId: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE torrents SET completed_at = NULL WHERE id = ?", arguments: [torrentId])
        }
    }

    /// Records that a torrent that never ran had its data checked while it waited for a download slot: a
    /// `checked` event says what was found (`detail`), and `started_at` is set, so the queue does not check
    /// it ahead again (its next start trusts the progress the check saved). Its state stays as it is.
    package func markCheckedAhead(torrentId: Int64, detail: String) throws {
        try writer.write { db in
            let now = Date().millisecondsSince1970
            try db.execute(
                sql: "UPDATE torrents SET started_at = coalesce(started_at, ?) WHERE id = ? AND removed_at IS NULL",
                arguments: [now, torrentId])
            guard db.changesCount > 0 else { return }
            try TorrentRows.insertEvent(torrentId: torrentId, at: now, kind: .checked, detail: detail, db)
        }
    }
}
