import Engine
import Foundation
import GRDB

/// What the command line reads of the torrents (`btq list`, `info`, `files`, `history`, `peers`): their
/// records, trackers, history, peers, metainfo and files, and a user's reference resolved to one torrent;
/// and the one choice a user makes per file, its download priority.
package struct TorrentQueries: Sendable {
    let writer: any DatabaseWriter

    /// The torrents, in queue order (head first). Removed torrents are left out unless `includeRemoved`;
    /// they come after the queue, oldest removal first. `state` keeps only the torrents in that state.
    /// One query, no per-torrent lookups.
    package func torrents(includeRemoved: Bool = false, state: TorrentState? = nil) throws -> [TorrentRecord] {
        let (clauses, arguments) = TorrentRows.queueClauses(includeRemoved: includeRemoved, state: state)
        let sql = "SELECT \(TorrentRecord.columns) FROM torrents \(clauses)"
        return try writer.read { db in
            var result: [TorrentRecord] = []
            let statement = try db.makeStatement(sql: sql)
            statement.arguments = arguments
            let rows = try Row.fetchCursor(statement)
            while let row = try rows.next() { result.append(try TorrentRecord(statement: statement, row: row)) }
            return result
        }
    }

    /// The torrent with list id `id` (removed or not), or `nil`.
    package func torrent(id: Int64) throws -> TorrentRecord? {
        try writer.read { db in try TorrentRows.fetchTorrent(id: id, db) }
    }

    /// Finds the torrent a user means by `reference`: a list id (`"3"`), or a prefix of at least 4 hex
    /// digits (any case) of its v1 or v2 info-hash, unique among the candidates. Removed torrents are
    /// candidates only with `includeRemoved`. A reference of decimal digits is an id first: only when no
    /// candidate has that id is it tried as a hash prefix.
    ///
    /// - Throws: ``StoreError`` `.notFound` or `.ambiguous` (naming the matching ids and hashes).
    package func resolve(_ reference: String, includeRemoved: Bool = false) throws -> TorrentRecord {
        let text = reference.trimmingCharacters(in: .whitespaces)
        return try writer.read { db in
            if let id = Int64(text), text.allSatisfy(\.isASCII),
                let record = try TorrentRows.fetchTorrent(id: id, db), includeRemoved || !record.isRemoved
            {
                return record
            }
            let prefix = text.lowercased()
            guard prefix.utf8.count >= 4, prefix.utf8.count <= 64,
                prefix.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else { throw StoreError.notFound(reference) }
            // Every hex string that starts with `prefix` sorts in [prefix, prefix + "g"): an index range scan.
            let live = includeRemoved ? "" : "AND removed_at IS NULL"
            let sql = """
                SELECT \(TorrentRecord.columns) FROM torrents
                WHERE ((info_hash_v1 >= ?1 AND info_hash_v1 < ?2) OR (info_hash_v2 >= ?1 AND info_hash_v2 < ?2)) \(live)
                ORDER BY id LIMIT 6
                """
            let matches = try Row.fetchAll(db, sql: sql, arguments: [prefix, prefix + "g"]).map(TorrentRecord.init)
            switch matches.count {
            case 0: throw StoreError.notFound(reference)
            case 1: return matches[0]
            default:
                let names = matches.prefix(5).map { "\($0.id) \($0.infoHash.prefix(12))" }
                throw StoreError.ambiguous(reference, matches: matches.count > 5 ? names + ["..."] : names)
            }
        }
    }

    /// The trackers of a torrent, by tier then position.
    package func trackers(torrentId: Int64) throws -> [TrackerRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(TrackerRecord.columns) FROM trackers WHERE torrent_id = ? ORDER BY tier, position, id",
                arguments: [torrentId]
            ).map(TrackerRecord.init)
        }
    }

    /// The swarm counts of every torrent that has a tracker: per count, the largest any of its
    /// trackers last reported (announce or scrape); torrents whose trackers never said are left out.
    package func swarmCounts() throws -> [Int64: SwarmCounts] {
        try writer.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT torrent_id, max(seeders), max(leechers), max(completed) FROM trackers
                    GROUP BY torrent_id
                    HAVING count(seeders) + count(leechers) + count(completed) > 0
                    """)
            var counts: [Int64: SwarmCounts] = [:]
            for row in rows {
                var stored = StoredRow(row: row, table: "trackers")
                let torrentId = try stored.integer(0, "torrent_id", in: Int64.min...Int64.max)
                stored.torrentId = torrentId
                counts[torrentId] = SwarmCounts(
                    seeders: try stored.optionalInt(1, "seeders"), leechers: try stored.optionalInt(2, "leechers"),
                    completed: try stored.optionalInt(3, "completed"))
            }
            return counts
        }
    }

    /// The history, oldest first: of one torrent, or of everything (`torrentId` `nil`, btq's own events
    /// included); only events at or after `since`; with `limit`, only the most recent `limit` of them.
    package func events(torrentId: Int64? = nil, since: Date? = nil, limit: Int? = nil) throws -> [EventRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let torrentId {
            conditions.append("torrent_id = ?")
            arguments += [torrentId]
        }
        if let since {
            conditions.append("at >= ?")
            arguments += [since.millisecondsSince1970]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var sql = "SELECT \(EventRecord.columns) FROM events \(filter) ORDER BY at DESC, id DESC"
        if let limit {
            sql += " LIMIT ?"
            arguments += [max(0, limit)]
        }
        return try writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(EventRecord.init).reversed()
        }
    }

    /// The peer history of a torrent, most recently seen first.
    package func peers(torrentId: Int64) throws -> [PeerRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(PeerRecord.columns) FROM peers WHERE torrent_id = ? ORDER BY last_seen_at DESC, id
                    """,
                arguments: [torrentId]
            ).map(PeerRecord.init)
        }
    }

    /// The pieces that failed their hash check, over every peer of every torrent (the peers' records).
    package func hashFailures() throws -> Int64 {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(hash_failures), 0) FROM peers") ?? 0
        }
    }

    /// The raw `.torrent` bytes of a torrent, or `nil` (a magnet without metadata, or an unknown id).
    package func metainfoBytes(torrentId: Int64) throws -> [UInt8]? {
        try writer.read { db in try MetainfoBlob.read(torrentId: torrentId, db) }
    }

    /// The magnet URI a torrent was added from, or `nil`.
    package func magnetURI(torrentId: Int64) throws -> String? {
        try writer.read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT magnet FROM torrents WHERE id = ?"), arguments: [torrentId])
        }
    }
}

/// A torrent's files: the list comes from its stored metainfo (parsed, as `btq run` does), what btq
/// records or the user chooses per file from `file_state`, which has a row only for a file that has
/// something there. Adding a torrent of 250,000 files writes its metainfo and no row per file.
extension TorrentQueries {
    /// The files of a torrent in stream order, each with its priority and verified bytes; empty for a
    /// magnet whose metadata has not arrived (or an unknown id).
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when the stored metainfo no longer parses.
    package func files(torrentId: Int64) throws -> [FileRecord] {
        try writer.read { db in
            guard let files = try Self.fileList(torrentId: torrentId, db) else { return [] }
            let layout = try TorrentRows.fetchLayout(torrentId: torrentId, db)
            let bitfield = try layout.flatMap {
                try TorrentRows.fetchBitfield(torrentId: torrentId, pieceCount: $0.pieceCount, db)
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
            guard try TorrentRows.fetchTorrent(id: torrentId, db) != nil else {
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
            try db.execute(
                sql: "UPDATE torrents SET priorities_changed = priorities_changed + 1 WHERE id = ?",
                arguments: [torrentId])
            let skipped = priorities.filter { $0.value == 0 }.keys.sorted()
            let detail =
                skipped.isEmpty
                ? "\(priorities.count) file(s) changed" : "\(priorities.count) file(s) changed, skipping \(skipped)"
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: "priorities", detail: detail, db)
        }
    }

    /// Sets the order a torrent's new pieces are started in, with an `order` event when it changed;
    /// a running daemon follows it at its next pass. Returns true when it changed.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown torrent.
    @discardableResult
    package func setDownloadOrder(torrentId: Int64, _ order: DownloadOrder) throws -> Bool {
        try writer.write { db in
            guard let record = try TorrentRows.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            guard record.downloadOrder != order else { return false }
            try db.execute(
                sql: "UPDATE torrents SET download_order = ? WHERE id = ?", arguments: [order.rawValue, torrentId])
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: "order",
                detail: "\(record.downloadOrder.rawValue) -> \(order.rawValue)", db)
            return true
        }
    }

    /// The files of a torrent: its `file_lists` row, else its stored metainfo parsed; `nil` when it has
    /// neither (a magnet).
    static func fileList(torrentId: Int64, _ db: Database) throws -> TorrentFiles? {
        if let entries = try Data.fetchOne(
            db, sql: "SELECT entries FROM file_lists WHERE torrent_id = ?", arguments: [torrentId])
        {
            return TorrentFiles(try FileListBlob.decode(Array(entries), torrentId: torrentId))
        }
        return try parsedFileList(torrentId: torrentId, db)
    }

    /// The files of a torrent's stored metainfo, parsed, or `nil` when it has none (a magnet).
    static func parsedFileList(torrentId: Int64, _ db: Database) throws -> TorrentFiles? {
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
            db.cachedStatement(
                sql: "SELECT file_index, priority FROM file_state WHERE torrent_id = ? AND priority != 4"),
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

    /// Bytes of `offset..<offset+length` of the stream that lie inside verified pieces.
    static func verifiedBytes(
        offset: Int64, length: Int64, pieceLength: Int64, totalSize: Int64, verified: Bitfield?
    ) -> Int64 {
        guard length > 0, pieceLength > 0, offset >= 0, offset <= totalSize, let verified else { return 0 }
        let end = offset + min(length, totalSize - offset)
        var done: Int64 = 0
        var piece = offset / pieceLength
        while piece * pieceLength < end, piece < Int64(verified.count) {
            if verified.contains(Int(piece)) {
                let start = max(offset, piece * pieceLength)
                done += min(end, (piece + 1) * pieceLength) - start
            }
            piece += 1
        }
        return done
    }
}
