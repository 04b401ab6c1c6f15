import Engine
import Foundation
import GRDB
import GRDBSQLite

/// The queue as `btq list` shows it: the lines of ``QueueLine``, read straight from SQLite's rows (no
/// `Row` or `String` per line), in one pass or in parts read at the same time on separate connections.
package struct QueueListing: Sendable {
    let writer: any DatabaseWriter

    /// The queue's lines in queue order (removed torrents last, with `includeRemoved`), optionally only
    /// those in `state`.
    package func queueLines(includeRemoved: Bool = false, state: TorrentState? = nil) throws -> [QueueLine] {
        let (clauses, arguments) = TorrentRows.queueClauses(includeRemoved: includeRemoved, state: state)
        return try writer.read { db in
            var lines: [QueueLine] = []
            try Self.visitQueueLines(db, clauses: clauses, arguments: arguments) { lines.append(QueueLine($0)) }
            return lines
        }
    }

    /// The queue's lines (removed torrents left out), optionally only those in `state`, in `parts`
    /// consecutive runs of queue order read at the same time on separate connections of the pool. On two
    /// cores this takes about half as long as ``queueLines(includeRemoved:state:)`` for a long queue;
    /// a queue spanning at most `splitAbove` positions (or an in-memory store) comes back in one part.
    package func queueLineParts(state: TorrentState? = nil, parts: Int, splitAbove: Int = 4096) throws -> [[QueueLine]]
    {
        try queueLineParts(
            state: state, parts: parts, splitAbove: splitAbove,
            makePart: { lines in
                var part: [QueueLine] = []
                part.reserveCapacity(lines)
                return part
            },
            visit: { lines, fields in lines.append(QueueLine(fields)) })
    }

    /// As ``queueLineParts(state:parts:splitAbove:)``, but each part's lines go to `visit` as they are
    /// read, together with that part's accumulator (made by `makePart` with the number of lines the part
    /// may hold: room can be reserved once); the parts' accumulators come back in queue order. `visit`
    /// runs on the part's own thread.
    package func queueLineParts<Part: Sendable>(
        state: TorrentState? = nil, parts: Int, splitAbove: Int = 4096,
        makePart: @escaping @Sendable (_ expectedLines: Int) -> Part,
        visit: @escaping @Sendable (inout Part, borrowing QueueLineFields) -> Void
    ) throws -> [Part] {
        var conditions = ["removed_at IS NULL"]
        var arguments: StatementArguments = []
        if let state {
            conditions.append("state = ?")
            arguments += [state.rawValue]
        }
        let filter = "WHERE " + conditions.joined(separator: " AND ")
        let writer = self.writer
        // The parts are cut at even steps between the first and last queue positions (positions are
        // dense: `add`, `move` and `remove` keep them numbered one after the other), both found in the
        // index without reading the lines in between.
        let (first, last): (Int64?, Int64?) = try writer.read { db in
            let position = "SELECT queue_position FROM torrents \(filter) ORDER BY queue_position"
            return (
                try Int64.fetchOne(db, sql: position + " LIMIT 1", arguments: arguments),
                try Int64.fetchOne(db, sql: position + " DESC LIMIT 1", arguments: arguments)
            )
        }
        guard let first, let last else { return [makePart(0)] }
        let span = last - first + 1
        let split = parts > 1 && span > splitAbove && writer is DatabasePool
        let cuts = split ? (1..<parts).map { first + span * Int64($0) / Int64(parts) } : []
        let bounds = [nil] + cuts.map(Optional.some) + [nil]
        let baseArguments = arguments
        let readPart = { @Sendable (part: Int) throws -> Part in
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
            return try writer.read { db in
                var accumulator = makePart(Int(span) / (bounds.count - 1))
                try Self.visitQueueLines(
                    db, clauses: clauses + " ORDER BY queue_position", arguments: partArguments, removed: false
                ) { visit(&accumulator, $0) }
                return accumulator
            }
        }
        guard bounds.count > 2 else { return [try readPart(0)] }
        return try concurrentMap(Array(0..<bounds.count - 1)) { part in Result { try readPart(part) } }
            .map { try $0.get() }
    }

    /// The query for the lines `clauses` select (see `visitQueueLines`).
    static func queueLineSQL(clauses: String, removed: Bool?) -> String {
        let isRemoved = removed.map { $0 ? "1" : "0" } ?? "removed_at IS NOT NULL"
        return
            "SELECT id, name, total_size, bytes_done, state, \(isRemoved), uploaded, downloaded FROM torrents \(clauses)"
    }

    /// Hands the lines `clauses` select to `visit`, one after the other, straight from SQLite's row (no
    /// `Row` values, no `String` per name). `removed` says what the removed flag is when the clauses fix it
    /// (then the query reads nothing outside the covering index `torrents_listed`).
    private static func visitQueueLines(
        _ db: Database, clauses: String, arguments: StatementArguments, removed: Bool? = nil,
        _ visit: (borrowing QueueLineFields) throws -> Void
    ) throws {
        let statement = try db.makeStatement(sql: queueLineSQL(clauses: clauses, removed: removed))
        try statement.setArguments(arguments)
        let raw = statement.sqliteStatement
        while true {
            // Stepped here rather than through a GRDB cursor: no `Row` handed out (and retained) per line.
            let code = sqlite3_step(raw)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    sql: statement.sql, arguments: arguments)
            }
            try checkQueueLine(raw)
            // sqlite3_column_text before sqlite3_column_bytes, as SQLite asks: the length is then that
            // of the UTF-8 text.
            let name = sqlite3_column_text(raw, 1)
            let nameCount = Int(sqlite3_column_bytes(raw, 1))
            let state = sqlite3_column_text(raw, 4)
            let stateCount = Int(sqlite3_column_bytes(raw, 4))
            try visit(
                QueueLineFields(
                    id: sqlite3_column_int64(raw, 0),
                    name: UnsafeBufferPointer(start: name, count: name == nil ? 0 : nameCount),
                    totalSize: sqlite3_column_type(raw, 2) == SQLITE_NULL ? nil : sqlite3_column_int64(raw, 2),
                    bytesDone: sqlite3_column_int64(raw, 3),
                    state: TorrentState(utf8: UnsafeBufferPointer(start: state, count: state == nil ? 0 : stateCount))
                        ?? .error,
                    isRemoved: sqlite3_column_int64(raw, 5) != 0,
                    uploaded: sqlite3_column_int64(raw, 6),
                    downloaded: sqlite3_column_int64(raw, 7)))
        }
    }

    /// Throws ``StoreError`` `.damagedDatabase`, naming the torrent, unless the current line holds what
    /// btq writes: text name and state, non-negative integer sizes and counters (the size may be NULL).
    private static func checkQueueLine(_ raw: OpaquePointer) throws {
        let id = sqlite3_column_int64(raw, 0)
        func damaged(_ column: String, _ problem: String) -> StoreError {
            StoreError.damaged(torrentId: id, table: "torrents", column: column, problem: problem)
        }
        for (index, column) in [(1, "name"), (4, "state")] where sqlite3_column_type(raw, Int32(index)) != SQLITE_TEXT {
            throw damaged(column, "holds \(describe(raw, index)); text was expected")
        }
        let counters = [(2, "total_size"), (3, "bytes_done"), (6, "uploaded"), (7, "downloaded")]
        for (index, column) in counters {
            let type = sqlite3_column_type(raw, Int32(index))
            if type == SQLITE_NULL, index == 2 { continue }
            guard type == SQLITE_INTEGER, sqlite3_column_int64(raw, Int32(index)) >= 0 else {
                throw damaged(column, "holds \(describe(raw, index)); an integer >= 0 was expected")
            }
        }
        if sqlite3_column_type(raw, 2) == SQLITE_INTEGER, sqlite3_column_int64(raw, 3) > sqlite3_column_int64(raw, 2) {
            throw damaged("bytes_done", "holds \(sqlite3_column_int64(raw, 3)), more than the torrent's size")
        }
    }

    private static func describe(_ raw: OpaquePointer, _ index: Int) -> String {
        let column = Int32(index)
        switch sqlite3_column_type(raw, column) {
        case SQLITE_NULL: return "NULL"
        case SQLITE_INTEGER: return "the integer \(sqlite3_column_int64(raw, column))"
        case SQLITE_FLOAT: return "the real number \(sqlite3_column_double(raw, column))"
        case SQLITE_TEXT: return "text of \(sqlite3_column_bytes(raw, column)) bytes"
        default: return "a BLOB of \(sqlite3_column_bytes(raw, column)) bytes"
        }
    }
}
