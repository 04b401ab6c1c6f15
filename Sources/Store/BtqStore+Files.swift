import Engine
import Foundation
import GRDB

/// A torrent's files: the list comes from its stored metainfo (parsed, as `btq run` does), what btq
/// records or the user chooses per file from `file_state`, which has a row only for a file that has
/// something there. Adding a torrent of 250,000 files writes its metainfo and no row per file.
extension BtqStore {
    /// The files of a torrent in stream order, each with its priority and verified bytes; empty for a
    /// magnet whose metadata has not arrived (or an unknown id).
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when the stored metainfo no longer parses.
    package func files(torrentId: Int64) throws -> [FileRecord] {
        try writer.read { db in
            guard let files = try Self.fileList(torrentId: torrentId, db) else { return [] }
            let layout = try Self.fetchLayout(torrentId: torrentId, db)
            let bitfield = try layout.flatMap {
                try Self.fetchBitfield(torrentId: torrentId, pieceCount: $0.pieceCount, db)
            }
            let priorities = try Self.fetchPriorities(torrentId: torrentId, count: files.count, db)
            return files.enumerated().map { index, file in
                let bytesDone = layout.map {
                    Self.verifiedBytes(
                        offset: file.offset, length: file.length, pieceLength: $0.pieceLength,
                        totalSize: $0.totalSize, verified: bitfield?.verified)
                }
                return FileRecord(index: index, file: file, priority: priorities[index], bytesDone: bytesDone)
            }
        }
    }

    /// The download priority of each of a torrent's first `count` files (4, normal, for a file that was
    /// never given one), without parsing its metainfo: for a session that has it parsed already.
    package func filePriorities(torrentId: Int64, count: Int) throws -> [Int] {
        try writer.read { db in try Self.fetchPriorities(torrentId: torrentId, count: count, db) }
    }

    /// Sets download priorities by file index (0 skips a file, 1...7 low to high, 4 normal) in one
    /// transaction, with a `priorities` event saying what changed. Pad files are never downloaded as
    /// files: a priority given to one is ignored.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown torrent, `.invalidValue` for an index the
    ///   torrent does not have or a priority outside 0...7 (nothing is written then).
    package func setFilePriorities(torrentId: Int64, _ priorities: [Int: Int]) throws {
        try writer.write { db in
            guard try Self.fetchTorrent(id: torrentId, db) != nil else {
                throw StoreError.notFound(id: torrentId)
            }
            let files = try Self.fileList(torrentId: torrentId, db) ?? TorrentFiles()
            for (index, priority) in priorities {
                guard files.indices.contains(index) else {
                    throw StoreError.invalidValue("the torrent has no file \(index) (it has \(files.count))")
                }
                guard (0...7).contains(priority) else {
                    throw StoreError.invalidValue("priority \(priority) is not within 0...7")
                }
            }
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO file_state (torrent_id, file_index, priority) VALUES (?, ?, ?)
                    ON CONFLICT (torrent_id, file_index) DO UPDATE SET priority = excluded.priority
                    """)
            for (index, priority) in priorities.sorted(by: { $0.key < $1.key }) where !files.isPad(at: index) {
                try statement.execute(arguments: [torrentId, index, priority])
            }
            let skipped = priorities.filter { $0.value == 0 }.keys.sorted()
            let detail =
                skipped.isEmpty
                ? "\(priorities.count) file(s) changed" : "\(priorities.count) file(s) changed, skipping \(skipped)"
            try Self.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: "priorities", detail: detail, db)
        }
    }

    /// The files of a torrent's stored metainfo, or `nil` when it has none (a magnet).
    static func fileList(torrentId: Int64, _ db: Database) throws -> TorrentFiles? {
        guard let bytes = try MetainfoBlob.read(torrentId: torrentId, db) else { return nil }
        do {
            return try Metainfo(bytes: bytes).files
        } catch {
            throw StoreError.damaged(
                torrentId: torrentId, table: "metainfo", column: "bytes", problem: "no longer parses: \(error)")
        }
    }

    /// The priorities of files `0..<count` of a torrent, 4 where `file_state` has none.
    static func fetchPriorities(torrentId: Int64, count: Int, _ db: Database) throws -> [Int] {
        var priorities = [Int](repeating: 4, count: count)
        let rows = try Row.fetchCursor(
            db, sql: "SELECT file_index, priority FROM file_state WHERE torrent_id = ? AND priority != 4",
            arguments: [torrentId])
        while let row = try rows.next() {
            let stored = StoredRow(row: row, table: "file_state", torrentId: torrentId)
            let index = try stored.int(0, "file_index")
            // A row past the file list is left over from nothing btq writes; it names no file.
            guard index < count else { continue }
            priorities[index] = try stored.int(1, "priority", in: 0...7)
        }
        return priorities
    }
}
