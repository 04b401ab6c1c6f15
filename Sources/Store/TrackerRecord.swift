import Foundation
import GRDB

/// One tracker of a torrent and what it last said.
public struct TrackerRecord: Sendable, Codable, Hashable {
    /// Row id.
    public var id: Int64
    /// The torrent.
    public var torrentId: Int64
    /// Announce URL.
    public var url: String
    /// BEP 12 tier, 0 first.
    public var tier: Int
    /// Order inside the tier.
    public var position: Int
    /// When the last announce was sent.
    public var lastAnnounceAt: Date?
    /// When the next announce is due.
    public var nextAnnounceAt: Date?
    /// Seeders it last reported.
    public var seeders: Int?
    /// Leechers it last reported.
    public var leechers: Int?
    /// Completed downloads it last reported.
    public var completed: Int?
    /// The failure of its last announce, if it failed.
    public var lastError: String?
    /// The `tracker id` it asked to be sent back.
    public var trackerId: String?

    /// The columns ``init(row:)`` reads, in order.
    static let columns = """
        id, torrent_id, url, tier, position, last_announce_at, next_announce_at, seeders, leechers, completed, \
        last_error, tracker_id
        """

    init(row: Row) {
        id = row[0]
        torrentId = row[1]
        url = row[2]
        tier = row[3]
        position = row[4]
        lastAnnounceAt = (row[5] as Int64?).map(Date.init(millisecondsSince1970:))
        nextAnnounceAt = (row[6] as Int64?).map(Date.init(millisecondsSince1970:))
        seeders = row[7]
        leechers = row[8]
        completed = row[9]
        lastError = row[10]
        trackerId = row[11]
    }
}
