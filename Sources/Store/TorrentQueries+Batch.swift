import Engine
import Foundation
import GRDB

/// The files and trackers of many torrents at once, for a client that asks for every torrent's (the
/// RPC's `torrent-get`): a few queries per 500 torrents, each torrent's files from its compact
/// `file_lists` row, no metainfo parsed and no query per torrent (but one bitfield read per torrent
/// that is partly verified).
extension TorrentQueries {
    /// Torrents per query: SQLite allows far more, but the id list is text in the statement.
    static let batchSize = 500

    /// The files of each of `torrentIds` as ``files(torrentId:)`` gives them; a torrent without files
    /// (a magnet without metadata, an unknown id) is left out.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when a row no longer reads.
    package func files(torrentIds: some Sequence<Int64>) throws -> [Int64: [FileRecord]] {
        let ids = Array(Set(torrentIds)).sorted()
        return try writer.read { db in
            var result: [Int64: [FileRecord]] = [:]
            for start in stride(from: 0, to: ids.count, by: Self.batchSize) {
                let chunk = ids[start..<min(ids.count, start + Self.batchSize)]
                let list = chunk.map(String.init).joined(separator: ",")
                let torrents = try Self.batchTorrents(list, db)
                let priorities = try Self.batchPriorities(list, db)
                var lists: [Int64: [TorrentFile]] = [:]
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT torrent_id, entries FROM file_lists WHERE torrent_id IN (\(list))")
                while let row = try rows.next() {
                    let stored = StoredRow(row: row, table: "file_lists")
                    let id = try stored.integer(0, "torrent_id", in: Int64.min...Int64.max)
                    var owned = stored
                    owned.torrentId = id
                    guard let entries = try owned.optionalBlob(1, "entries") else {
                        throw owned.damaged("entries", "is NULL; a file list was expected")
                    }
                    lists[id] = try FileListBlob.decode(Array(entries), torrentId: id)
                }
                for (id, torrent) in torrents {
                    guard let files = try lists[id] ?? Self.parsedFileList(torrentId: id, db).map(Array.init) else {
                        continue
                    }
                    result[id] = try Self.records(files, of: id, torrent, priorities: priorities[id] ?? [:], db)
                }
            }
            return result
        }
    }

    /// The trackers of each of `torrentIds`, by tier then position; a torrent without is left out.
    package func trackers(torrentIds: some Sequence<Int64>) throws -> [Int64: [TrackerRecord]] {
        let ids = Array(Set(torrentIds)).sorted()
        return try writer.read { db in
            var result: [Int64: [TrackerRecord]] = [:]
            for start in stride(from: 0, to: ids.count, by: Self.batchSize) {
                let list = ids[start..<min(ids.count, start + Self.batchSize)].map(String.init).joined(separator: ",")
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT \(TrackerRecord.columns) FROM trackers WHERE torrent_id IN (\(list))
                        ORDER BY torrent_id, tier, position, id
                        """)
                while let row = try rows.next() {
                    let tracker = try TrackerRecord(row: row)
                    result[tracker.torrentId, default: []].append(tracker)
                }
            }
            return result
        }
    }

    /// What the files' progress needs of each torrent of `list` (ids joined with commas).
    private struct BatchTorrent {
        var layout: (pieceLength: Int64, pieceCount: Int, totalSize: Int64)?
        var piecesDone: Int
    }

    private static func batchTorrents(_ list: String, _ db: Database) throws -> [Int64: BatchTorrent] {
        var result: [Int64: BatchTorrent] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT id, piece_length, piece_count, total_size, pieces_done FROM torrents WHERE id IN (\(list))")
        while let row = try rows.next() {
            var stored = StoredRow(row: row, table: "torrents")
            let id = try stored.integer(0, "id", in: Int64.min...Int64.max)
            stored.torrentId = id
            result[id] = BatchTorrent(
                layout: try TorrentRows.layout(stored, from: 1), piecesDone: try stored.int(4, "pieces_done"))
        }
        return result
    }

    /// The priorities other than normal of the torrents of `list`, by torrent and file index.
    private static func batchPriorities(_ list: String, _ db: Database) throws -> [Int64: [Int: Int]] {
        var result: [Int64: [Int: Int]] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT torrent_id, file_index, priority FROM file_state WHERE torrent_id IN (\(list)) AND priority != 4
                """)
        while let row = try rows.next() {
            var stored = StoredRow(row: row, table: "file_state")
            let id = try stored.integer(0, "torrent_id", in: Int64.min...Int64.max)
            stored.torrentId = id
            result[id, default: [:]][try stored.int(1, "file_index")] = try stored.int(2, "priority", in: 0...7)
        }
        return result
    }

    /// The records of a torrent's `files`. A torrent with no verified piece, or all of them, needs no
    /// bitfield: only a partly verified one's is read.
    private static func records(
        _ files: [TorrentFile], of id: Int64, _ torrent: BatchTorrent, priorities: [Int: Int], _ db: Database
    ) throws -> [FileRecord] {
        var verified: Bitfield?
        var complete = false
        if let layout = torrent.layout, torrent.piecesDone > 0 {
            if torrent.piecesDone >= layout.pieceCount {
                complete = true
            } else {
                verified = try TorrentRows.fetchBitfield(torrentId: id, pieceCount: layout.pieceCount, db)?.verified
            }
        }
        return files.enumerated().map { index, file in
            let bytesDone = torrent.layout.map { layout -> Int64 in
                if complete {
                    guard file.offset >= 0, file.offset <= layout.totalSize else { return 0 }
                    return max(0, min(file.length, layout.totalSize - file.offset))
                }
                return verifiedBytes(
                    offset: file.offset, length: file.length, pieceLength: layout.pieceLength,
                    totalSize: layout.totalSize, verified: verified)
            }
            return FileRecord(index: index, file: file, priority: priorities[index] ?? 4, bytesDone: bytesDone)
        }
    }
}
