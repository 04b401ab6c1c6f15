import Engine
import Foundation
import GRDB

/// What a torrent session saves and reads back: its resume progress (verified pieces, block masks,
/// transfer totals, durable checkpoints), file stats, peer and tracker records and history, and the
/// metadata a magnet fetch found. It implements the ``ResumeStore`` port (``EnginePorts`` hands it to the
/// engine).
package struct ProgressStore: ResumeStore {
    let writer: any DatabaseWriter
    /// When set, every write is dropped once the pinned row was added again (see ``TorrentPin``).
    var pin: TorrentPin? = nil

    /// The recorded progress of a torrent; `nil` for an unknown or removed torrent. A torrent with no
    /// recorded progress yet gets an all-clear bitfield of its piece count.
    package func resumeState(torrentId: Int64) throws -> ResumeState? {
        try writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT piece_count, downloaded, uploaded, wasted, checkpoint_at FROM torrents
                            WHERE id = ? AND removed_at IS NULL
                            """),
                    arguments: [torrentId])
            else { return nil }
            let stored = StoredRow(row: row, table: "torrents", torrentId: torrentId)
            let pieceCount = try stored.optionalInt(0, "piece_count") ?? 0
            let bitfields = try TorrentRows.fetchBitfield(torrentId: torrentId, pieceCount: pieceCount, db)
            var state = ResumeState(
                torrentId: torrentId,
                verified: bitfields?.verified ?? Bitfield(count: pieceCount),
                durableVerified: bitfields?.durable,
                checkpointAt: try stored.optionalInteger(4, "checkpoint_at", in: Int64.min...Int64.max).map(
                    Timestamp.init(rawValue:)),
                recordedAt: try Int64.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT max(at) FROM (
                                SELECT updated_at AS at FROM piece_bitfields WHERE torrent_id = ?1
                                UNION ALL SELECT updated_at FROM block_masks WHERE torrent_id = ?1)
                            """),
                    arguments: [torrentId]
                ).map(Timestamp.init(rawValue:)),
                totals: TransferTotals(
                    downloaded: try stored.integer(1, "downloaded"), uploaded: try stored.integer(2, "uploaded"),
                    wasted: try stored.integer(3, "wasted")))
            let masks = try Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT piece_index, block_count, mask, durable_mask FROM block_masks WHERE torrent_id = ?"),
                arguments: [torrentId])
            while let mask = try masks.next() {
                let stored = StoredRow(row: mask, table: "block_masks", torrentId: torrentId)
                let piece = PieceIndex(try stored.int(0, "piece_index", in: 0...Int64(max(pieceCount - 1, 0))))
                let blockCount = try stored.int(1, "block_count", in: 1...Int64(Int32.max))
                // A mask of the wrong length is forgotten: its blocks are fetched again.
                state.blockMasks[piece] = TorrentRows.bitfield(mask[2], count: blockCount)
                if let durable = TorrentRows.bitfield(mask[3], count: blockCount), !durable.isNone {
                    state.durableBlockMasks[piece] = durable
                }
            }
            state.files = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT file_index, recorded_size, recorded_mtime_ns FROM file_state
                        WHERE torrent_id = ? AND recorded_size IS NOT NULL AND recorded_mtime_ns IS NOT NULL
                        ORDER BY file_index
                        """),
                arguments: [torrentId]
            ).map { row in
                let stored = StoredRow(row: row, table: "file_state", torrentId: torrentId)
                return FileStat(
                    index: FileIndex(try stored.int(0, "file_index")), size: try stored.integer(1, "recorded_size"),
                    modificationTimeNanoseconds: try stored.integer(2, "recorded_mtime_ns", in: Int64.min...Int64.max))
            }
            return state
        }
    }

    /// Writes a flush in one transaction; see ``ResumeStore/saveProgress(_:)``. Only the rows of what
    /// changed are touched: a torrent's bitfield row when one of its bits changed, one row per changed block
    /// mask. Invalid values (a piece index out of range, a negative delta, a bad port) throw
    /// ``StoreError`` `.invalidValue` and nothing of the batch is written.
    package func saveProgress(_ batch: ProgressBatch) throws {
        guard !batch.isEmpty else { return }
        try writer.write { db in try Self.write(batch, pinnedTo: pin, at: Date().millisecondsSince1970, db) }
    }

    /// Writes the batches of several workers in one transaction (a group commit), each in a savepoint of
    /// its own, so that each is written or dropped as ``saveProgress(_:)`` would alone: a batch that throws
    /// (an invalid value, a constraint) is rolled back by itself and its error is its outcome. Returns one
    /// outcome per batch, in order. Throws, with nothing written, when the transaction fails as a whole
    /// (the database locked past its timeout, the disk full), or when SQLite ended it after a batch's error.
    package func saveProgress(
        together saves: [(pin: TorrentPin?, batch: ProgressBatch)]
    ) throws -> [(any Error)?] {
        try writer.write { db in
            let now = Date().millisecondsSince1970
            return try saves.map { save -> (any Error)? in
                guard !save.batch.isEmpty else { return nil }
                do {
                    try db.inSavepoint {
                        try Self.write(save.batch, pinnedTo: save.pin, at: now, db)
                        return .commit
                    }
                    return nil
                } catch {
                    // The savepoint was rolled back; what came before it stands unless SQLite gave up the
                    // whole transaction (as it may on I/O errors or a full disk).
                    guard db.isInsideTransaction else { throw error }
                    return error
                }
            }
        }
    }

    /// One batch's rows, written by a worker pinned to `pin` (dropped when the pin no longer holds).
    private static func write(_ batch: ProgressBatch, pinnedTo pin: TorrentPin?, at now: Int64, _ db: Database) throws {
        guard try pin.admits(db) else { return }
        var exists: [Int64: Bool] = [:]
        func torrentExists(_ id: Int64) throws -> Bool {
            if let known = exists[id] { return known }
            let found =
                try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM torrents WHERE id = ?)"), arguments: [id])
                ?? false
            exists[id] = found
            return found
        }
        for progress in batch.torrents where !progress.isEmpty {
            guard try torrentExists(progress.torrentId) else { continue }
            try ProgressRows.save(progress, at: now, db)
        }
        for peer in batch.peers where try torrentExists(peer.torrentId) {
            try ProgressRows.save(peer, db)
        }
        for tracker in batch.trackers where try torrentExists(tracker.torrentId) {
            try ProgressRows.save(tracker, db)
        }
        for event in batch.events {
            if let id = event.torrentId, try !torrentExists(id) { continue }
            try TorrentRows.insertEvent(
                torrentId: event.torrentId, at: event.at.rawValue, kind: event.kind, detail: event.detail, db)
        }
    }

    /// Makes each checkpoint's snapshot the torrent's durable progress and stamps its checkpoint time, in
    /// one transaction (see ``ResumeStore/commitCheckpoint(_:at:)``). Block masks not in a snapshot lose
    /// their durable copy; a snapshot whose piece count differs from the torrent's is refused. Record times
    /// (`updated_at`) are left alone: they tell progress recorded after the checkpoint's time apart.
    package func commitCheckpoint(_ checkpoints: [DurableCheckpoint], at time: Timestamp) throws {
        try writer.write { db in
            guard try pin.admits(db) else { return }
            for checkpoint in checkpoints {
                let id = checkpoint.torrentId
                guard
                    let pieceCount = try Int.fetchOne(
                        db.cachedStatement(sql: "SELECT piece_count FROM torrents WHERE id = ?"), arguments: [id])
                else { continue }
                guard checkpoint.verified.count == pieceCount else {
                    throw StoreError.invalidValue(
                        "checkpoint of torrent \(id) has \(checkpoint.verified.count) pieces, not \(pieceCount)")
                }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO piece_bitfields (torrent_id, piece_count, verified, durable, updated_at)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (torrent_id) DO UPDATE SET durable = excluded.durable
                        """
                ).execute(
                    // A new row holds nothing but what the checkpoint vouches for: recorded before its time.
                    arguments: [
                        id, pieceCount, Data(checkpoint.verified.bytes), Data(checkpoint.verified.bytes),
                        time.rawValue - 1,
                    ])
                try db.cachedStatement(sql: "UPDATE block_masks SET durable_mask = NULL WHERE torrent_id = ?")
                    .execute(arguments: [id])
                let setMask = try db.cachedStatement(
                    sql: """
                        UPDATE block_masks SET durable_mask = ?
                        WHERE torrent_id = ? AND piece_index = ? AND block_count = ?
                        """)
                for (piece, mask) in checkpoint.blockMasks where !mask.isNone {
                    try setMask.execute(arguments: [Data(mask.bytes), id, piece.value, mask.count])
                }
                try db.cachedStatement(sql: "UPDATE torrents SET checkpoint_at = ? WHERE id = ?")
                    .execute(arguments: [time.rawValue, id])
            }
        }
    }

    /// Records files' sizes and modification times; indices the torrent does not have are ignored.
    package func recordFileStats(torrentId: Int64, _ stats: [FileStat]) throws {
        try writer.write { db in
            guard try pin.admits(db) else { return }
            try ProgressRows.save(stats, torrentId: torrentId, at: Date().millisecondsSince1970, db)
        }
    }

    /// Appends history entries in one transaction; entries about torrents that no longer exist are dropped.
    package func recordEvents(_ events: [HistoryEvent]) throws {
        try saveProgress(ProgressBatch(events: events))
    }

    /// Stores fetched metadata over a magnet's row (see ``ResumeStore/attachMetainfo(torrentId:_:)``).
    /// Does nothing when the torrent already has its metainfo.
    ///
    /// - Throws: ``StoreError`` `.notFound`, or `.mismatchedMetadata` when the info-hashes disagree.
    package func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo) throws {
        try attachMetainfo(torrentId: torrentId, metainfo, detail: nil)
    }

    /// Stores fetched metadata like ``attachMetainfo(torrentId:_:)``; `detail` (where it came from, how
    /// long it took) is appended to the `metadata` event's detail.
    package func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo, detail: String?) throws {
        try writer.write { db in
            guard try pin.admits(db) else { return }
            guard let record = try TorrentRows.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            let hashes = metainfo.infoHashes
            let v1Agrees = record.infoHashV1 == nil || hashes.v1 == nil || record.infoHashV1 == hashes.v1?.hex
            let v2Agrees = record.infoHashV2 == nil || hashes.v2 == nil || record.infoHashV2 == hashes.v2?.hex
            let shared =
                (record.infoHashV1 != nil && record.infoHashV1 == hashes.v1?.hex)
                || (record.infoHashV2 != nil && record.infoHashV2 == hashes.v2?.hex)
            guard v1Agrees, v2Agrees, shared else { throw StoreError.mismatchedMetadata(id: torrentId) }
            guard record.isMagnet else { return }
            try TorrentAdder.applyMetainfo(metainfo, to: torrentId, db)
            try db.execute(
                sql: "UPDATE torrents SET pieces_done = 0, bytes_done = 0 WHERE id = ?", arguments: [torrentId])
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: .metadata,
                detail: "\(metainfo.files.countWithoutPads) files, \(metainfo.totalLength) bytes"
                    + (detail.map { ", \($0)" } ?? ""), db)
        }
    }

    /// Changes a torrent's state and last error, with a history event; see
    /// ``TorrentQueue/setState(torrentId:_:error:)``.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.removed` for a removed torrent.
    package func setState(torrentId: Int64, _ state: TorrentState, error: String? = nil) throws {
        try writer.write { db in
            guard try pin.admits(db) else { return }
            try TorrentRows.setState(torrentId: torrentId, state, error: error, db)
        }
    }
}
