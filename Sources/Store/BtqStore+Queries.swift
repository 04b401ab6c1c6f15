import Engine
import Foundation
import GRDB

extension BtqStore {
    /// The torrents, in queue order (head first). Removed torrents are left out unless `includeRemoved`;
    /// they come after the queue, oldest removal first. `state` keeps only the torrents in that state.
    /// One query, no per-torrent lookups.
    package func torrents(includeRemoved: Bool = false, state: TorrentState? = nil) throws -> [TorrentRecord] {
        let (clauses, arguments) = Self.queueClauses(includeRemoved: includeRemoved, state: state)
        let sql = "SELECT \(TorrentRecord.columns) FROM torrents \(clauses)"
        return try writer.read { db in
            var result: [TorrentRecord] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() { result.append(try TorrentRecord(row: row)) }
            return result
        }
    }

    /// The torrent with list id `id` (removed or not), or `nil`.
    package func torrent(id: Int64) throws -> TorrentRecord? {
        try writer.read { db in try Self.fetchTorrent(id: id, db) }
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
                let record = try Self.fetchTorrent(id: id, db), includeRemoved || !record.isRemoved
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

    /// The raw `.torrent` bytes of a torrent, or `nil` (a magnet without metadata, or an unknown id).
    package func metainfoBytes(torrentId: Int64) throws -> [UInt8]? {
        try writer.read { db in try MetainfoBlob.read(torrentId: torrentId, db) }
    }

    /// The magnet URI a torrent was added from, or `nil`.
    package func magnetURI(torrentId: Int64) throws -> String? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT magnet FROM torrents WHERE id = ?", arguments: [torrentId])
        }
    }

    // MARK: - Internals

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
                db, sql: "SELECT piece_length, piece_count, total_size FROM torrents WHERE id = ?",
                arguments: [torrentId])
        else { return nil }
        let stored = StoredRow(row: row, table: "torrents", torrentId: torrentId)
        guard let pieceLength = try stored.optionalInteger(0, "piece_length", in: 1...Int64.max),
            let pieceCount = try stored.optionalInteger(1, "piece_count"),
            let totalSize = try stored.optionalInteger(2, "total_size")
        else { return nil }
        let (needed, overflow) = pieceCount.multipliedReportingOverflow(by: pieceLength)
        guard !overflow, needed >= totalSize, needed - pieceLength < totalSize || pieceCount == 0 else {
            throw stored.damaged(
                "piece_count", "holds \(pieceCount), which does not fit \(totalSize) bytes in pieces of \(pieceLength)")
        }
        return (pieceLength, Int(pieceCount), totalSize)
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
}
