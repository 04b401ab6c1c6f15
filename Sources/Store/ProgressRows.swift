import Engine
import Foundation
import GRDB

/// The row-level writes of ``ProgressStore/saveProgress(_:)`` and ``ProgressStore/recordFileStats(torrentId:_:)``,
/// inside the caller's transaction.
enum ProgressRows {
    static func save(_ progress: TorrentProgress, at now: Int64, _ db: Database) throws {
        let id = progress.torrentId
        if !progress.pieces.isEmpty {
            guard let (pieceLength, pieceCount, totalSize) = try TorrentRows.fetchLayout(torrentId: id, db) else {
                throw StoreError.invalidValue("torrent \(id) has no metadata: it has no pieces to verify")
            }
            var verified =
                try TorrentRows.fetchBitfield(torrentId: id, pieceCount: pieceCount, db)?.verified
                ?? Bitfield(count: pieceCount)
            for (piece, isVerified) in progress.pieces {
                guard piece.value >= 0, piece.value < pieceCount else {
                    throw StoreError.invalidValue(
                        "piece \(piece) out of range for torrent \(id) (\(pieceCount) pieces)")
                }
                verified.set(piece.value, to: isVerified)
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO piece_bitfields (torrent_id, piece_count, verified, updated_at)
                    VALUES (?, ?, coalesce(?, x''), ?)
                    ON CONFLICT (torrent_id) DO UPDATE SET verified = excluded.verified, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [id, pieceCount, Data(verified.bytes), now])
            let done = verified.cardinality
            var bytesDone = Int64(done) * pieceLength
            if pieceCount > 0, verified.contains(pieceCount - 1) {
                bytesDone -= Int64(pieceCount) * pieceLength - totalSize
            }
            try db.cachedStatement(sql: "UPDATE torrents SET pieces_done = ?, bytes_done = ? WHERE id = ?")
                .execute(arguments: [done, max(0, bytesDone), id])
            // A verified piece's mask goes. The torrent's masks are those of its unfinished pieces, a
            // few rows: read them once rather than look up every piece verified since the last batch
            // (thousands a batch with small pieces).
            if progress.pieces.values.contains(true) {
                let masked = try Int.fetchAll(
                    db.cachedStatement(sql: "SELECT piece_index FROM block_masks WHERE torrent_id = ?"),
                    arguments: [id])
                let dropMask = try db.cachedStatement(
                    sql: "DELETE FROM block_masks WHERE torrent_id = ? AND piece_index = ?")
                for piece in masked where progress.pieces[PieceIndex(piece)] == true {
                    try dropMask.execute(arguments: [id, piece])
                }
            }
        }
        for (piece, mask) in progress.blockMasks where progress.pieces[piece] != true {
            guard piece.value >= 0 else { throw StoreError.invalidValue("negative piece index \(piece)") }
            if mask.isNone {
                try db.cachedStatement(sql: "DELETE FROM block_masks WHERE torrent_id = ? AND piece_index = ?")
                    .execute(arguments: [id, piece.value])
            } else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO block_masks (torrent_id, piece_index, block_count, mask, updated_at)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (torrent_id, piece_index) DO UPDATE SET
                            mask = excluded.mask, updated_at = excluded.updated_at,
                            durable_mask = CASE WHEN block_count = excluded.block_count THEN durable_mask END,
                            block_count = excluded.block_count
                        """
                ).execute(arguments: [id, piece.value, mask.count, Data(mask.bytes), now])
            }
        }
        try save(progress.fileStats, torrentId: id, at: now, db)
        let transferred = progress.transferred
        if !transferred.isZero {
            guard transferred.downloaded >= 0, transferred.uploaded >= 0, transferred.wasted >= 0 else {
                throw StoreError.invalidValue("negative transfer counters for torrent \(id)")
            }
            try db.cachedStatement(
                sql:
                    "UPDATE torrents SET downloaded = downloaded + ?, uploaded = uploaded + ?, wasted = wasted + ? WHERE id = ?"
            ).execute(arguments: [transferred.downloaded, transferred.uploaded, transferred.wasted, id])
        }
    }

    static func save(_ peer: PeerUpdate, _ db: Database) throws {
        guard (1...65535).contains(peer.port) else { throw StoreError.invalidValue("bad peer port \(peer.port)") }
        guard peer.peerId == nil || peer.peerId?.count == 20 else {
            throw StoreError.invalidValue("a peer id has 20 bytes, not \(peer.peerId?.count ?? 0)")
        }
        guard peer.downloadedDelta >= 0, peer.uploadedDelta >= 0, peer.hashFailuresDelta >= 0 else {
            throw StoreError.invalidValue("negative peer counters for \(peer.address)")
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO peers (torrent_id, address, port, peer_id, client, source, first_seen_at, last_seen_at,
                    downloaded, uploaded, hash_failures, banned, transport)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, coalesce(?11, 0), ?12)
                ON CONFLICT (torrent_id, address, port) DO UPDATE SET
                    peer_id = coalesce(excluded.peer_id, peer_id),
                    client = coalesce(excluded.client, client),
                    last_seen_at = max(last_seen_at, excluded.last_seen_at),
                    downloaded = downloaded + excluded.downloaded,
                    uploaded = uploaded + excluded.uploaded,
                    hash_failures = hash_failures + excluded.hash_failures,
                    banned = coalesce(?11, banned),
                    transport = coalesce(excluded.transport, transport)
                """
        ).execute(arguments: [
            peer.torrentId, peer.address, peer.port, peer.peerId.map { Data($0) }, peer.client,
            peer.source.rawValue, peer.seenAt.rawValue, peer.downloadedDelta, peer.uploadedDelta,
            peer.hashFailuresDelta, peer.banned, peer.transport.flatMap { $0.isEmpty ? nil : $0 },
        ])
    }

    static func save(_ tracker: TrackerUpdate, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO trackers (torrent_id, url, tier, position, last_announce_at, next_announce_at, seeders,
                    leechers, completed, last_error, tracker_id, last_scrape_at, scrape_error)
                VALUES (?1, ?2, (SELECT coalesce(max(tier) + 1, 0) FROM trackers WHERE torrent_id = ?1), 0,
                    ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                ON CONFLICT (torrent_id, url) DO UPDATE SET
                    last_announce_at = excluded.last_announce_at, next_announce_at = excluded.next_announce_at,
                    seeders = coalesce(excluded.seeders, seeders), leechers = coalesce(excluded.leechers, leechers),
                    completed = coalesce(excluded.completed, completed), last_error = excluded.last_error,
                    tracker_id = excluded.tracker_id, last_scrape_at = coalesce(excluded.last_scrape_at, last_scrape_at),
                    scrape_error = excluded.scrape_error
                """
        ).execute(arguments: [
            tracker.torrentId, tracker.url, tracker.lastAnnounceAt?.rawValue, tracker.nextAnnounceAt?.rawValue,
            tracker.seeders, tracker.leechers, tracker.completed, tracker.lastError, tracker.trackerId,
            tracker.lastScrapeAt?.rawValue, tracker.scrapeError,
        ])
    }

    static func save(_ stats: [FileStat], torrentId: Int64, at now: Int64, _ db: Database) throws {
        guard !stats.isEmpty else { return }
        // A file gets its row on its first record; an index the torrent does not have (or a torrent that
        // is gone) selects nothing.
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO file_state (torrent_id, file_index, recorded_size, recorded_mtime_ns, recorded_at)
                SELECT id, ?, ?, ?, ? FROM torrents WHERE id = ? AND ? < file_entries
                ON CONFLICT (torrent_id, file_index) DO UPDATE SET recorded_size = excluded.recorded_size,
                    recorded_mtime_ns = excluded.recorded_mtime_ns, recorded_at = excluded.recorded_at
                """)
        for stat in stats where stat.index.value >= 0 {
            guard stat.size >= 0 else { throw StoreError.invalidValue("negative file size \(stat.size)") }
            try statement.execute(arguments: [
                stat.index.value, stat.size, stat.modificationTimeNanoseconds, now, torrentId, stat.index.value,
            ])
        }
    }

}
