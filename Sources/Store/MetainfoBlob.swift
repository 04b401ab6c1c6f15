import GRDB
import GRDBSQLite

/// Writes and reads the `.torrent` bytes of the `metainfo` table through SQLite's incremental blob
/// I/O, a chunk at a time.
///
/// Binding a blob as a statement argument makes SQLite copy it (and build a record holding it
/// again) before anything reaches the pages: a 16 MiB `.torrent` would cost three times its size in
/// memory at once. Here the row is inserted with a `zeroblob` of the right length, which SQLite
/// writes without materializing, and the bytes are then copied into the row in chunks of
/// ``chunkSize``; reading fills the caller's array straight from the pages.
enum MetainfoBlob {
    /// The bytes copied per call into SQLite.
    static let chunkSize = 1 << 20

    /// Stores `bytes` as torrent `torrentId`'s metainfo, replacing any it had.
    static func write(_ bytes: [UInt8], torrentId: Int64, _ db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO metainfo (torrent_id, bytes) VALUES (?, zeroblob(?))",
            arguments: [torrentId, bytes.count])
        try withBlob(torrentId: torrentId, writable: true, db) { blob in
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let count = min(chunkSize, buffer.count - offset)
                    let code = sqlite3_blob_write(blob, buffer.baseAddress! + offset, Int32(count), Int32(offset))
                    guard code == SQLITE_OK else { throw failure(code, db) }
                    offset += count
                }
            }
        }
    }

    /// Torrent `torrentId`'s metainfo, or `nil` when it has none.
    static func read(torrentId: Int64, _ db: Database) throws -> [UInt8]? {
        guard
            let exists = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM metainfo WHERE torrent_id = ?)"),
                arguments: [torrentId]),
            exists
        else { return nil }
        return try withBlob(torrentId: torrentId, writable: false, db) { blob in
            let count = Int(sqlite3_blob_bytes(blob))
            var failure: Int32 = SQLITE_OK
            let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var offset = 0
                while offset < count, failure == SQLITE_OK {
                    let chunk = min(chunkSize, count - offset)
                    failure = sqlite3_blob_read(blob, buffer.baseAddress! + offset, Int32(chunk), Int32(offset))
                    offset += chunk
                }
                // Bytes are only handed out when every chunk was read.
                initialized = failure == SQLITE_OK ? count : 0
            }
            guard failure == SQLITE_OK else { throw Self.failure(failure, db) }
            return bytes
        }
    }

    /// Opens the `bytes` blob of row `torrentId` for `body`, and closes it.
    private static func withBlob<Result>(
        torrentId: Int64, writable: Bool, _ db: Database, _ body: (OpaquePointer) throws -> Result
    ) throws -> Result {
        var blob: OpaquePointer?
        let code = sqlite3_blob_open(
            db.sqliteConnection, "main", "metainfo", "bytes", torrentId, writable ? 1 : 0, &blob)
        guard code == SQLITE_OK, let blob else {
            sqlite3_blob_close(blob)
            throw failure(code == SQLITE_OK ? SQLITE_ERROR : code, db)
        }
        defer { sqlite3_blob_close(blob) }
        return try body(blob)
    }

    /// The error SQLite reported with `code`.
    private static func failure(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }
}
