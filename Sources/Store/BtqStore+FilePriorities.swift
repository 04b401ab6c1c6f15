import Engine
import Foundation
import GRDB

extension BtqStore {
    /// Sets download priorities by file index (0 skips a file, 1...7 low to high, 4 normal) in one
    /// transaction, with a `priorities` event saying what changed. Pad files keep priority 0.
    ///
    /// - Throws: ``StoreError`` `.notFound` for an unknown torrent, `.invalidValue` for an index the
    ///   torrent does not have or a priority outside 0...7 (nothing is written then).
    public func setFilePriorities(torrentId: Int64, _ priorities: [Int: Int]) throws {
        try writer.write { db in
            guard try Self.fetchTorrent(id: torrentId, db) != nil else {
                throw StoreError.notFound(id: torrentId)
            }
            let count =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM files WHERE torrent_id = ?", arguments: [torrentId])
                ?? 0
            for (index, priority) in priorities {
                guard (0..<count).contains(index) else {
                    throw StoreError.invalidValue("the torrent has no file \(index) (it has \(count))")
                }
                guard (0...7).contains(priority) else {
                    throw StoreError.invalidValue("priority \(priority) is not within 0...7")
                }
            }
            for (index, priority) in priorities {
                try db.execute(
                    sql: "UPDATE files SET priority = ? WHERE torrent_id = ? AND file_index = ? AND pad = 0",
                    arguments: [priority, torrentId, index])
            }
            let skipped = priorities.filter { $0.value == 0 }.keys.sorted()
            let detail =
                skipped.isEmpty
                ? "\(priorities.count) file(s) changed" : "\(priorities.count) file(s) changed, skipping \(skipped)"
            try Self.insertEvent(
                torrentId: torrentId, at: Date().millisecondsSince1970, kind: "priorities", detail: detail, db)
        }
    }
}
