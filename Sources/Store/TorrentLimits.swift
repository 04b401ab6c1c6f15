import Engine
import Foundation
import GRDB

/// A torrent's own limits: its download and upload rate limits, and the seeding time its seed limits
/// count.
package struct TorrentLimits: Sendable {
    let writer: any DatabaseWriter

    /// Sets a torrent's own rate limits (`nil` removes one) and records a `limits` event.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.removed` for a removed torrent.
    package func setRateLimits(torrentId: Int64, _ limits: TorrentRateLimits) throws {
        try writer.write { db in
            guard let record = try TorrentRows.fetchTorrent(id: torrentId, db) else {
                throw StoreError.notFound(id: torrentId)
            }
            guard !record.isRemoved else { throw StoreError.removed(id: torrentId) }
            try db.execute(
                sql: "UPDATE torrents SET download_rate_limit = ?, upload_rate_limit = ? WHERE id = ?",
                arguments: [limits.download, limits.upload, torrentId])
            let describe = { (value: Int64?) in value.map { "\($0) B/s" } ?? "none" }
            try TorrentRows.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: .limits,
                detail: "down \(describe(limits.download)), up \(describe(limits.upload))", db)
        }
    }

    /// A torrent's own rate limits.
    package func rateLimits(torrentId: Int64) throws -> TorrentRateLimits {
        try writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT download_rate_limit, upload_rate_limit FROM torrents WHERE id = ?"),
                    arguments: [torrentId])
            else { throw StoreError.notFound(id: torrentId) }
            let stored = StoredRow(row: row, table: "torrents", torrentId: torrentId)
            return TorrentRateLimits(
                download: try stored.optionalInteger(0, "download_rate_limit"),
                upload: try stored.optionalInteger(1, "upload_rate_limit"))
        }
    }

    /// The rate limits of every torrent that has one, by id.
    package func allRateLimits() throws -> [Int64: TorrentRateLimits] {
        try writer.read { db in
            var result: [Int64: TorrentRateLimits] = [:]
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, download_rate_limit, upload_rate_limit FROM torrents
                        WHERE download_rate_limit IS NOT NULL OR upload_rate_limit IS NOT NULL
                        """))
            for row in rows {
                var stored = StoredRow(row: row, table: "torrents")
                let id = try stored.integer(0, "id", in: Int64.min...Int64.max)
                stored.torrentId = id
                result[id] = TorrentRateLimits(
                    download: try stored.optionalInteger(1, "download_rate_limit"),
                    upload: try stored.optionalInteger(2, "upload_rate_limit"))
            }
            return result
        }
    }

    /// The own rate limits and seeding seconds of each of `torrentIds` that exists, in one read.
    package func workedFigures(torrentIds: [Int64]) throws -> [Int64: WorkedTorrentFigures] {
        guard !torrentIds.isEmpty else { return [:] }
        return try writer.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT download_rate_limit, upload_rate_limit, seeding_seconds FROM torrents WHERE id = ?")
            var figures: [Int64: WorkedTorrentFigures] = [:]
            for id in torrentIds {
                guard let row = try Row.fetchOne(statement, arguments: [id]) else { continue }
                let stored = StoredRow(row: row, table: "torrents", torrentId: id)
                figures[id] = WorkedTorrentFigures(
                    limits: TorrentRateLimits(
                        download: try stored.optionalInteger(0, "download_rate_limit"),
                        upload: try stored.optionalInteger(1, "upload_rate_limit")),
                    seedingSeconds: try stored.optionalInteger(2, "seeding_seconds", in: 0...1_000_000_000_000) ?? 0)
            }
            return figures
        }
    }

    /// Seconds the torrent has spent seeding over its life.
    package func seedingSeconds(torrentId: Int64) throws -> Int64 {
        try writer.read { db in
            // At most about 31,000 years: what btq can have counted.
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT seeding_seconds FROM torrents WHERE id = ?"), arguments: [torrentId]
            )
            .flatMap {
                try StoredRow(row: $0, table: "torrents", torrentId: torrentId)
                    .optionalInteger(0, "seeding_seconds", in: 0...1_000_000_000_000)
            }
        } ?? 0
    }

    /// Adds to the time the torrent has spent seeding.
    package func addSeedingSeconds(torrentId: Int64, _ seconds: Int64) throws {
        guard seconds > 0 else { return }
        try writer.write { db in
            try db.execute(
                sql: "UPDATE torrents SET seeding_seconds = seeding_seconds + ? WHERE id = ?",
                arguments: [seconds, torrentId])
        }
    }

    /// Adds to the time each of several torrents has spent seeding, in one transaction.
    package func addSeedingSeconds(_ seconds: [Int64: Int64]) throws {
        let added = seconds.filter { $0.value > 0 }
        guard !added.isEmpty else { return }
        try writer.write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE torrents SET seeding_seconds = seeding_seconds + ? WHERE id = ?")
            for (id, value) in added { try statement.execute(arguments: [value, id]) }
        }
    }

    /// The value schema 16's triggers move whenever something a running daemon follows changes (see
    /// ``QueueStore/queueGeneration()``).
    package func queueGeneration() throws -> Int64 {
        try writer.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM queue_generation WHERE id = 0")) ?? 0
        }
    }
}
