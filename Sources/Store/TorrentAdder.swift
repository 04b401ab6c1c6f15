import Engine
import Foundation
import GRDB

/// Adds torrents to the queue (`btq add`, `btq get`): a `.torrent` or a magnet link becomes a row with its
/// trackers, metainfo and an `added` event, or brings a removed torrent back; it also stores a magnet's
/// metadata over its row when that arrives (for ``ProgressStore/attachMetainfo(torrentId:_:detail:)``).
package struct TorrentAdder: Sendable {
    let writer: any DatabaseWriter

    /// Adds a torrent to the queue in one transaction: the torrent, its files and trackers, and an `added`
    /// event. New torrents go to the tail of the queue, or to the head with `atTop` (the others shift down).
    /// The state is `queued`, or `paused` when asked.
    ///
    /// Duplicates: when either info-hash matches a torrent in the queue, nothing changes and the result is
    /// ``AddOutcome/duplicate(_:)``. When it matches a *removed* (soft-deleted) torrent, that torrent is
    /// brought back: same id, its history and lifetime counters kept, the new save folder and state, a new
    /// queue place and `addedAt`, its verified progress and file records cleared (the data is checked
    /// again), and an `added` event saying it was re-added; the result is ``AddOutcome/added(_:)``.
    /// A magnet brought back as a `.torrent` gains the metainfo.
    package func add(_ new: NewTorrent) throws -> AddOutcome {
        try writer.write { db in try Self.add(new, at: Date().millisecondsSince1970, db) }
    }

    /// Adds several torrents in one transaction (all or none), in order; see ``add(_:)``.
    package func add(contentsOf news: [NewTorrent]) throws -> [AddOutcome] {
        try writer.write { db in
            let now = Date().millisecondsSince1970
            return try news.map { try Self.add($0, at: now, db) }
        }
    }

    // MARK: - Internals

    static func add(_ new: NewTorrent, at now: Int64, _ db: Database) throws -> AddOutcome {
        let hashes = new.source.infoHashes
        let matches = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT id, removed_at IS NOT NULL FROM torrents WHERE info_hash_v1 = ? OR info_hash_v2 = ?"),
            arguments: [hashes.v1?.hex, hashes.v2?.hex])
        let state: TorrentState = new.paused ? .paused : .queued
        if let live = matches.first(where: { !($0[1] as Bool) }) {
            return .duplicate(try TorrentRows.fetchTorrent(id: live[0], db)!)
        }
        let position = try takeQueuePosition(atTop: new.atTop, db)
        let id: Int64
        let detail: String
        if let removed = matches.first {
            id = removed[0]
            // A later `added_at` than before, even within the same millisecond: the workers of the removed
            // torrent that may still be stopping are pinned to the old one and write nothing here (TorrentPin).
            try db.execute(
                sql: """
                    UPDATE torrents SET removed_at = NULL, queue_position = ?, save_dir = ?, state = ?,
                        added_at = max(?, added_at + 1),
                        started_at = NULL, completed_at = NULL, last_error = NULL, pieces_done = 0, bytes_done = 0,
                        checkpoint_at = NULL
                    WHERE id = ?
                    """,
                arguments: [position, new.saveDirectory, state.rawValue, now, id])
            try db.execute(sql: "DELETE FROM piece_bitfields WHERE torrent_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM block_masks WHERE torrent_id = ?", arguments: [id])
            try db.execute(
                sql: """
                    UPDATE file_state SET recorded_size = NULL, recorded_mtime_ns = NULL, recorded_at = NULL
                    WHERE torrent_id = ?
                    """,
                arguments: [id])
            if case .metainfo(let metainfo) = new.source,
                try Bool.fetchOne(db, sql: "SELECT has_metainfo = 0 FROM torrents WHERE id = ?", arguments: [id])
                    == true
            {
                try applyMetainfo(
                    metainfo, fileCount: new.fileCount, fileEntries: new.fileEntries,
                    fileList: new.fileListBytes(of: metainfo), to: id, db)
            }
            detail = "re-added after removal, into \(new.saveDirectory)"
        } else {
            id = try insertTorrent(new, state: state, position: position, at: now, db)
            let kind = if case .magnet = new.source { "magnet link" } else { "torrent file" }
            detail = "from a \(kind), into \(new.saveDirectory)"
        }
        try TorrentRows.insertEvent(torrentId: id, at: now, kind: .added, detail: detail, db)
        return .added(try TorrentRows.fetchTorrent(id: id, db)!)
    }

    /// The queue position for a torrent entering the queue: the tail, or the head (shifting the others).
    static func takeQueuePosition(atTop: Bool, _ db: Database) throws -> Int {
        if atTop {
            try db.execute(sql: "UPDATE torrents SET queue_position = queue_position + 1 WHERE removed_at IS NULL")
            return 0
        }
        let last = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT max(queue_position) FROM torrents WHERE removed_at IS NULL"))
        return (last ?? -1) + 1
    }

    private static func insertTorrent(
        _ new: NewTorrent, state: TorrentState, position: Int, at now: Int64, _ db: Database
    ) throws -> Int64 {
        let hashes = new.source.infoHashes
        switch new.source {
        case .metainfo(let metainfo):
            try db.cachedStatement(
                sql: """
                    INSERT INTO torrents (info_hash_v1, info_hash_v2, name, total_size, piece_length, piece_count,
                        file_count, file_entries, has_metainfo, version, private, comment, created_by,
                        creation_date, save_dir, state, queue_position, added_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                hashes.v1?.hex, hashes.v2?.hex, metainfo.name, metainfo.totalLength, metainfo.pieceLength,
                metainfo.pieceCount, new.fileCount, new.fileEntries, true,
                metainfo.version.rawValue,
                metainfo.isPrivate, metainfo.comment, metainfo.createdBy,
                metainfo.creationDate, new.saveDirectory, state.rawValue, position, now,
            ])
            let id = db.lastInsertedRowID
            try MetainfoBlob.write(metainfo.torrentBytes, torrentId: id, db)
            try FileListBlob.write(encoded: new.fileListBytes(of: metainfo), torrentId: id, db)
            try insertTrackers(metainfo.trackerTiers, torrentId: id, db)
            return id
        case .magnet(let magnet):
            try db.cachedStatement(
                sql: """
                    INSERT INTO torrents (info_hash_v1, info_hash_v2, name, magnet, save_dir, state, queue_position,
                        added_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                hashes.v1?.hex, hashes.v2?.hex, magnet.displayName ?? hashes.primaryHex, magnet.uri,
                new.saveDirectory, state.rawValue, position, now,
            ])
            let id = db.lastInsertedRowID
            // Like libtorrent: each `tr` of a magnet is its own tier.
            try insertTrackers(magnet.trackers.map { [$0] }, torrentId: id, db)
            return id
        }
    }

    /// Stores a torrent's metainfo over a row that had none (a magnet), or that is brought back.
    static func applyMetainfo(_ metainfo: Metainfo, to id: Int64, _ db: Database) throws {
        try applyMetainfo(
            metainfo, fileCount: metainfo.files.countWithoutPads, fileEntries: metainfo.files.count,
            fileList: FileListBlob.encodeIfSmall(metainfo.files), to: id, db)
    }

    /// ``applyMetainfo(_:to:_:)`` with the file counts given (a ``NewTorrent``'s metainfo may have released
    /// its file table, and then gives it encoded).
    private static func applyMetainfo(
        _ metainfo: Metainfo, fileCount: Int, fileEntries: Int, fileList: [UInt8]?, to id: Int64, _ db: Database
    ) throws {
        let hashes = metainfo.infoHashes
        // Fill a missing info-hash only when no other torrent has it (UNIQUE).
        let v1 = try hashes.v1.flatMap { hash in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM torrents WHERE info_hash_v1 = ? AND id <> ?)",
                arguments: [hash.hex, id]) == true ? nil : hash.hex
        }
        let v2 = try hashes.v2.flatMap { hash in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM torrents WHERE info_hash_v2 = ? AND id <> ?)",
                arguments: [hash.hex, id]) == true ? nil : hash.hex
        }
        try db.execute(
            sql: """
                UPDATE torrents SET info_hash_v1 = coalesce(info_hash_v1, ?), info_hash_v2 = coalesce(info_hash_v2, ?),
                    name = ?, total_size = ?, piece_length = ?, piece_count = ?, file_count = ?, file_entries = ?,
                    has_metainfo = 1,
                    version = ?, private = ?, comment = ?, created_by = ?, creation_date = ?
                WHERE id = ?
                """,
            arguments: [
                v1, v2, metainfo.name, metainfo.totalLength, metainfo.pieceLength, metainfo.pieceCount,
                fileCount, fileEntries, metainfo.version.rawValue,
                metainfo.isPrivate, metainfo.comment, metainfo.createdBy, metainfo.creationDate, id,
            ])
        try MetainfoBlob.write(metainfo.torrentBytes, torrentId: id, db)
        try FileListBlob.write(encoded: fileList, torrentId: id, db)
        try db.execute(sql: "DELETE FROM file_state WHERE torrent_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM piece_bitfields WHERE torrent_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM block_masks WHERE torrent_id = ?", arguments: [id])
        let nextTier =
            try Int.fetchOne(db, sql: "SELECT max(tier) + 1 FROM trackers WHERE torrent_id = ?", arguments: [id]) ?? 0
        try insertTrackers(metainfo.trackerTiers, torrentId: id, firstTier: nextTier, db)
    }

    private static func insertTrackers(
        _ tiers: [[String]], torrentId: Int64, firstTier: Int = 0, _ db: Database
    ) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO trackers (torrent_id, url, tier, position) VALUES (?, ?, ?, ?)")
        for (tier, urls) in tiers.enumerated() {
            for (position, url) in urls.enumerated() {
                try statement.execute(arguments: [torrentId, url, firstTier + tier, position])
            }
        }
    }
}
