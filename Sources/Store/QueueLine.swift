import Engine
import Foundation
import GRDB

/// What `btq list` shows of one torrent: the few columns of its queue line, read without the rest of
/// its record (a queue of 100,000 torrents lists in a fraction of the time).
public struct QueueLine: Hashable, Sendable {
    /// The list id.
    public var id: Int64
    /// The torrent's name.
    public var name: String
    /// Total bytes, `nil` for a magnet link without metadata.
    public var totalSize: Int64?
    /// Bytes of verified pieces.
    public var bytesDone: Int64
    /// Its state.
    public var state: TorrentState
    /// True once removed (kept for its history).
    public var isRemoved: Bool
    /// Lifetime payload bytes sent and received.
    public var uploaded: Int64
    public var downloaded: Int64

    /// Fraction of the torrent verified (as ``TorrentRecord/progress``).
    public var progress: Double {
        guard let totalSize else { return 0 }
        guard totalSize > 0 else { return 1 }
        return min(1, Double(bytesDone) / Double(totalSize))
    }
}

extension BtqStore {
    /// The queue's lines in queue order (removed torrents last, with `includeRemoved`), optionally only
    /// those in `state`.
    public func queueLines(includeRemoved: Bool = false, state: TorrentState? = nil) throws -> [QueueLine] {
        let (clauses, arguments) = Self.queueClauses(includeRemoved: includeRemoved, state: state)
        return try writer.read { db in try Self.fetchQueueLines(db, clauses: clauses, arguments: arguments) }
    }

    /// The queue's lines (removed torrents left out), optionally only those in `state`, in `parts`
    /// consecutive runs of queue order read at the same time on separate connections of the pool. On two
    /// cores this takes about half as long as ``queueLines(includeRemoved:state:)`` for a long queue;
    /// a queue of at most `splitAbove` lines (or an in-memory store) comes back in one part.
    public func queueLineParts(state: TorrentState? = nil, parts: Int, splitAbove: Int = 4096) throws -> [[QueueLine]] {
        var conditions = ["removed_at IS NULL"]
        var arguments: StatementArguments = []
        if let state {
            conditions.append("state = ?")
            arguments += [state.rawValue]
        }
        let filter = "WHERE " + conditions.joined(separator: " AND ")
        let writer = self.writer
        let cuts: [Int64] = try writer.read { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM torrents \(filter)", arguments: arguments) ?? 0
            guard parts > 1, count > splitAbove, writer is DatabasePool else { return [] }
            return try (1..<parts).compactMap { part in
                try Int64.fetchOne(
                    db, sql: "SELECT queue_position FROM torrents \(filter) ORDER BY queue_position LIMIT 1 OFFSET ?",
                    arguments: arguments + [count * part / parts])
            }
        }
        guard !cuts.isEmpty else {
            let order = " ORDER BY queue_position"
            return [
                try writer.read { db in
                    try Self.fetchQueueLines(db, clauses: filter + order, arguments: arguments, removed: false)
                }
            ]
        }
        let bounds = [nil] + cuts.map(Optional.some) + [nil]
        let baseArguments = arguments
        return try concurrentMap(Array(0..<bounds.count - 1)) { part in
            var clauses = filter
            var partArguments = baseArguments
            if let low = bounds[part] {
                clauses += " AND queue_position >= ?"
                partArguments += [low]
            }
            if let high = bounds[part + 1] {
                clauses += " AND queue_position < ?"
                partArguments += [high]
            }
            return Result {
                try writer.read { db in
                    try Self.fetchQueueLines(
                        db, clauses: clauses + " ORDER BY queue_position", arguments: partArguments, removed: false)
                }
            }
        }.map { try $0.get() }
    }

    /// The query for the lines `clauses` select (see ``fetchQueueLines(_:clauses:arguments:removed:)``).
    static func queueLineSQL(clauses: String, removed: Bool?) -> String {
        let isRemoved = removed.map { $0 ? "1" : "0" } ?? "removed_at IS NOT NULL"
        return
            "SELECT id, name, total_size, bytes_done, state, \(isRemoved), uploaded, downloaded FROM torrents \(clauses)"
    }

    /// The lines `clauses` select; `removed` says what the removed flag is when the clauses fix it (then
    /// the query reads nothing outside the covering index `torrents_listed`).
    private static func fetchQueueLines(
        _ db: Database, clauses: String, arguments: StatementArguments, removed: Bool? = nil
    ) throws -> [QueueLine] {
        let sql = queueLineSQL(clauses: clauses, removed: removed)
        var lines: [QueueLine] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            lines.append(
                QueueLine(
                    id: row[0], name: row[1], totalSize: row[2], bytesDone: row[3],
                    state: TorrentState(rawValue: row[4]) ?? .error, isRemoved: row[5], uploaded: row[6],
                    downloaded: row[7]))
        }
        return lines
    }
}
