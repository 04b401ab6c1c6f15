import Engine
import GRDB
import GRDBSQLite

/// Inserts the `files` rows of a torrent through one prepared statement bound with SQLite's own
/// calls: no `StatementArguments` or `DatabaseValue` per row and column. A torrent may hold
/// 250,000 files; through GRDB's arguments their rows took longer than parsing the torrent.
enum FileRows {
    /// `SQLITE_TRANSIENT`: SQLite copies the bound text or blob before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Inserts one row per file of `files` (pad files included), in stream order.
    static func insert(_ files: [TorrentFile], torrentId: Int64, _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO files (torrent_id, file_index, path, length, byte_offset, pad, attributes,
                    symlink_target, pieces_root)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let raw = statement.sqliteStatement
        for (index, file) in files.enumerated() {
            sqlite3_reset(raw)
            sqlite3_bind_int64(raw, 1, torrentId)
            sqlite3_bind_int64(raw, 2, Int64(index))
            bindText(file.displayPath, raw, 3)
            sqlite3_bind_int64(raw, 4, file.length)
            sqlite3_bind_int64(raw, 5, file.offset)
            sqlite3_bind_int64(raw, 6, file.isPad ? 1 : 0)
            bindText(letters(file.attributes), raw, 7)
            if let target = file.symlinkTarget {
                bindText(target.joined(separator: "/"), raw, 8)
            } else {
                sqlite3_bind_null(raw, 8)
            }
            if let root = file.piecesRoot {
                root.withUnsafeBytes { _ = sqlite3_bind_blob(raw, 9, $0.baseAddress, Int32($0.count), transient) }
            } else {
                sqlite3_bind_null(raw, 9)
            }
            let code = sqlite3_step(raw)
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(raw)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
            }
        }
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    /// The BEP 47 letters of `attributes`, in the order `p`, `x`, `h`, `l`.
    static func letters(_ attributes: TorrentFile.Attributes) -> String {
        var letters = ""
        if attributes.contains(.pad) { letters += "p" }
        if attributes.contains(.executable) { letters += "x" }
        if attributes.contains(.hidden) { letters += "h" }
        if attributes.contains(.symlink) { letters += "l" }
        return letters
    }

    private static func bindText(_ text: String, _ statement: OpaquePointer?, _ column: Int32) {
        var text = text
        text.withUTF8 { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, column, $0.baseAddress, Int32($0.count), transient)
            }
        }
    }
}
