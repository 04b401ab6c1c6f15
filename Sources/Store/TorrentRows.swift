import Engine
import Foundation
import GRDB

/// The row-level reads and writes that several parts of the store share, run inside a transaction their
/// caller holds: a torrent's record, layout and bitfields, history entries, state changes, and the clauses
/// of a queue listing.
enum TorrentRows {
    static func fetchTorrent(id: Int64, _ db: Database) throws -> TorrentRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(TorrentRecord.columns) FROM torrents WHERE id = ?"), arguments: [id]
        ).map(TorrentRecord.init)
    }

    static func insertEvent(torrentId: Int64?, at: Int64, kind: EventKind, detail: String?, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO events (torrent_id, at, kind, detail) VALUES (?, ?, ?, ?)")
            .execute(arguments: [torrentId, at, kind.rawValue, detail])
    }

    /// A torrent's piece length, piece count and total size, checked against each other; `nil` for an
    /// unknown torrent or a magnet whose metadata has not arrived.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when they are out of range or disagree.
    static func fetchLayout(
        torrentId: Int64, _ db: Database
    ) throws -> (pieceLength: Int64, pieceCount: Int, totalSize: Int64)? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT piece_length, piece_count, total_size FROM torrents WHERE id = ?"),
                arguments: [torrentId])
        else { return nil }
        return try layout(StoredRow(row: row, table: "torrents", torrentId: torrentId), from: 0)
    }

    /// The piece layout in columns `first...first + 2` (`piece_length`, `piece_count`, `total_size`) of
    /// a torrents row, as ``fetchLayout(torrentId:_:)`` reads it.
    static func layout(
        _ stored: StoredRow, from first: Int
    ) throws -> (pieceLength: Int64, pieceCount: Int, totalSize: Int64)? {
        guard let pieceLength = try stored.optionalInteger(first, "piece_length", in: 1...Int64.max),
            let pieceCount = try stored.optionalInteger(first + 1, "piece_count"),
            let totalSize = try stored.optionalInteger(first + 2, "total_size")
        else { return nil }
        let (needed, overflow) = pieceCount.multipliedReportingOverflow(by: pieceLength)
        guard !overflow, needed >= totalSize, needed - pieceLength < totalSize || pieceCount == 0 else {
            throw stored.damaged(
                "piece_count", "holds \(pieceCount), which does not fit \(totalSize) bytes in pieces of \(pieceLength)")
        }
        return (pieceLength, Int(pieceCount), totalSize)
    }

    /// The WHERE and ORDER BY of a queue listing: live torrents (all, with `includeRemoved`: removed ones
    /// last), optionally only those in `state`, in queue order.
    static func queueClauses(includeRemoved: Bool, state: TorrentState?) -> (String, StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if !includeRemoved { conditions.append("removed_at IS NULL") }
        if let state {
            conditions.append("state = ?")
            arguments += [state.rawValue]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let order = includeRemoved ? "queue_position IS NULL, queue_position, removed_at, id" : "queue_position"
        return ("\(filter) ORDER BY \(order)", arguments)
    }

    /// Changes a torrent's state and last error with its history event, as
    /// ``TorrentQueue/setState(torrentId:_:error:)`` describes.
    static func setState(torrentId: Int64, _ state: TorrentState, error: String?, _ db: Database) throws {
        guard let record = try fetchTorrent(id: torrentId, db) else { throw StoreError.notFound(id: torrentId) }
        guard !record.isRemoved else { throw StoreError.removed(id: torrentId) }
        let old = record.state
        guard old != state || record.lastError != error else { return }
        let now = Date().millisecondsSince1970
        try db.cachedStatement(
            sql: """
                UPDATE torrents SET state = ?, last_error = ?,
                    started_at = CASE WHEN ? THEN coalesce(started_at, ?) ELSE started_at END,
                    completed_at = CASE WHEN ? THEN coalesce(completed_at, ?) ELSE completed_at END
                WHERE id = ?
                """
        ).execute(
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

    /// A torrent's stored bitfields, or `nil` when none was recorded.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when they are not bitfields of `pieceCount` bits (the
    ///   torrent's piece count).
    static func fetchBitfield(
        torrentId: Int64, pieceCount: Int, _ db: Database
    ) throws -> (verified: Bitfield, durable: Bitfield?)? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT piece_count, verified, durable FROM piece_bitfields WHERE torrent_id = ?"),
                arguments: [torrentId])
        else { return nil }
        let stored = StoredRow(row: row, table: "piece_bitfields", torrentId: torrentId)
        let count = try stored.int(0, "piece_count", in: Int64(pieceCount)...Int64(pieceCount))
        guard let verified = bitfield(row[1], count: count) else {
            throw stored.damaged("verified", "holds \(StoredRow.describe(row[1])), not a bitfield of \(count) pieces")
        }
        let durableValue: DatabaseValue = row[2]
        let durable = bitfield(durableValue, count: count)
        if durable == nil, !durableValue.isNull {
            throw stored.damaged(
                "durable", "holds \(StoredRow.describe(durableValue)), not a bitfield of \(count) pieces")
        }
        return (verified, durable)
    }

    /// A bitfield from a stored BLOB (an empty BLOB may read back as NULL), or `nil` when absent or malformed.
    static func bitfield(_ value: DatabaseValue, count: Int) -> Bitfield? {
        if value.isNull { return count == 0 ? Bitfield(count: 0) : nil }
        guard let data = Data.fromDatabaseValue(value) else { return nil }
        return Bitfield(bytes: [UInt8](data), count: count)
    }
}
