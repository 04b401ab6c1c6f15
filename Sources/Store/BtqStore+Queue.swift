import Engine
import Foundation
import GRDB

extension BtqStore {
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
            guard let record = try Self.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            if purge {
                try db.execute(sql: "DELETE FROM torrents WHERE id = ?", arguments: [torrentId])
            } else if !record.isRemoved {
                let now = Date().millisecondsSince1970
                try db.execute(
                    sql: "UPDATE torrents SET removed_at = ?, queue_position = NULL WHERE id = ?",
                    arguments: [now, torrentId])
                try Self.insertEvent(
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
            guard let record = try Self.fetchTorrent(id: torrentId, db) else {
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
            try Self.insertEvent(
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
        try writer.write { db in try Self.setState(torrentId: torrentId, state, error: error, db) }
    }

    // MARK: - Internals

    static func setState(torrentId: Int64, _ state: TorrentState, error: String?, _ db: Database) throws {
        guard let record = try fetchTorrent(id: torrentId, db) else { throw StoreError.notFound(id: torrentId) }
        guard !record.isRemoved else { throw StoreError.removed(id: torrentId) }
        let old = record.state
        guard old != state || record.lastError != error else { return }
        let now = Date().millisecondsSince1970
        try db.execute(
            sql: """
                UPDATE torrents SET state = ?, last_error = ?,
                    started_at = CASE WHEN ? THEN coalesce(started_at, ?) ELSE started_at END,
                    completed_at = CASE WHEN ? THEN coalesce(completed_at, ?) ELSE completed_at END
                WHERE id = ?
                """,
            arguments: [
                state.rawValue, error, isActive(state), now, state == .seeding || state == .completed, now,
                torrentId,
            ])
        var detail = "\(old.rawValue) -> \(state.rawValue)"
        if let error { detail += ": \(error)" }
        let kind = eventKind(from: old, to: state, completedBefore: record.completedAt != nil)
        try insertEvent(torrentId: torrentId, at: now, kind: kind, detail: detail, db)
    }

    static func isActive(_ state: TorrentState) -> Bool {
        switch state {
        case .checking, .fetchingMetadata, .downloading, .seeding: true
        case .queued, .paused, .completed, .error: false
        }
    }

    /// The history event of a state change; `completedBefore`: the torrent completed once already, so
    /// seeding again (after a restart) or stopping at a seed limit is no new completion.
    static func eventKind(from old: TorrentState, to new: TorrentState, completedBefore: Bool = false) -> EventKind {
        let finished: Set<TorrentState> = [.seeding, .completed]
        if new == .error { return .error }
        if new == .paused { return .paused }
        if old == .paused || (old == .error && new == .queued) { return .resumed }
        if finished.contains(new) && !finished.contains(old) && !completedBefore { return .completed }
        if new == .checking { return .checking }
        if isActive(new) && !isActive(old) { return .started }
        return .state
    }
}
