import Engine
import Foundation
import GRDB

/// What `btq list` shows of one torrent: the few columns of its queue line, read without the rest of
/// its record (a queue of 100,000 torrents lists in a fraction of the time).
public struct QueueLine: Hashable, Sendable {
    /// The list id.
    public var id: Int64
    /// The torrent's name.
    public var name: String
    /// Total bytes, `nil` for a magnet link without metadata.
    public var totalSize: Int64?
    /// Bytes of verified pieces.
    public var bytesDone: Int64
    /// Its state.
    public var state: TorrentState
    /// True once removed (kept for its history).
    public var isRemoved: Bool
    /// Lifetime payload bytes sent and received.
    public var uploaded: Int64
    public var downloaded: Int64

    /// Fraction of the torrent verified (as ``TorrentRecord/progress``).
    public var progress: Double {
        guard let totalSize else { return 0 }
        guard totalSize > 0 else { return 1 }
        return min(1, Double(bytesDone) / Double(totalSize))
    }
}

extension BtqStore {
    /// The queue's lines in queue order (removed torrents last, with `includeRemoved`), optionally only
    /// those in `state`.
    public func queueLines(includeRemoved: Bool = false, state: TorrentState? = nil) throws -> [QueueLine] {
        let (clauses, arguments) = Self.queueClauses(includeRemoved: includeRemoved, state: state)
        let sql = """
            SELECT id, name, total_size, bytes_done, state, removed_at IS NOT NULL, uploaded, downloaded
            FROM torrents \(clauses)
            """
        return try writer.read { db in
            var lines: [QueueLine] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                lines.append(
                    QueueLine(
                        id: row[0], name: row[1], totalSize: row[2], bytesDone: row[3],
                        state: TorrentState(rawValue: row[4]) ?? .error, isRemoved: row[5], uploaded: row[6],
                        downloaded: row[7]))
            }
            return lines
        }
    }
}
