import Engine
import Foundation
import GRDB

/// A torrent's row as a worker read it when it started: its id and the time it was added. Removing a
/// torrent and adding it again revives the same row with a later `added_at`, so a worker of the removed
/// torrent that is still stopping (its last journal batch, its ending) must not write into the new one:
/// a store pinned to the row (``EnginePorts/pinned(to:)``) drops its writes once the row no longer has
/// that time.
package struct TorrentPin: Hashable, Sendable {
    /// The row.
    package let torrentId: Int64
    /// Its `added_at` when the worker read it, in milliseconds since 1970.
    package let addedAt: Int64

    /// The pin of `record`'s row as read.
    package init(_ record: TorrentRecord) {
        torrentId = record.id
        // The record's date came from whole milliseconds: the nearest one is exactly the stored value.
        addedAt = Int64((record.addedAt.timeIntervalSince1970 * 1000).rounded())
    }

    /// True while the row is still the one pinned (it exists and was not added again since).
    func holds(_ db: Database) throws -> Bool {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT added_at FROM torrents WHERE id = ?"), arguments: [torrentId])
            == addedAt
    }
}

extension TorrentPin? {
    /// True when there is no pin, or while it holds: the writes of a store pinned to a row added again
    /// since are dropped, silently (the worker is being stopped; the row belongs to the new torrent).
    func admits(_ db: Database) throws -> Bool {
        guard let pin = self else { return true }
        return try pin.holds(db)
    }
}
