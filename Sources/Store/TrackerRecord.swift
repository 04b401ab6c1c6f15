import Engine
import Foundation
import GRDB

/// One tracker of a torrent and what it last said.
package struct TrackerRecord: Sendable, Codable, Hashable {
    /// Row id.
    package var id: Int64
    /// The torrent.
    package var torrentId: Int64
    /// Announce URL.
    package var url: String
    /// BEP 12 tier, 0 first.
    package var tier: Int
    /// Order inside the tier.
    package var position: Int
    /// When the last announce was sent.
    package var lastAnnounceAt: Date?
    /// When the next announce is due.
    package var nextAnnounceAt: Date?
    /// Seeders it last reported.
    package var seeders: Int?
    /// Leechers it last reported.
    package var leechers: Int?
    /// Completed downloads it last reported.
    package var completed: Int?
    /// The failure of its last announce, if it failed.
    package var lastError: String?
    /// The `tracker id` it asked to be sent back.
    package var trackerId: String?
    /// When it last answered a scrape.
    package var lastScrapeAt: Date?
    /// Why its last scrape failed, if it did.
    package var scrapeError: String?

    /// The columns ``init(row:)`` reads, in order.
    static let columns = """
        id, torrent_id, url, tier, position, last_announce_at, next_announce_at, seeders, leechers, completed, \
        last_error, tracker_id, last_scrape_at, scrape_error
        """

    /// Decodes a row selected with ``columns``.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` for a value btq never writes, naming the torrent.
    init(row: Row) throws {
        var stored = StoredRow(row: row, table: "trackers")
        id = try stored.integer(0, "id", in: Int64.min...Int64.max)
        torrentId = try stored.integer(1, "torrent_id", in: Int64.min...Int64.max)
        stored.torrentId = torrentId
        url = try stored.text(2, "url")
        tier = try stored.int(3, "tier")
        position = try stored.int(4, "position")
        let times = TorrentRecord.times
        lastAnnounceAt = try stored.optionalInteger(5, "last_announce_at", in: times).map(
            Date.init(millisecondsSince1970:))
        nextAnnounceAt = try stored.optionalInteger(6, "next_announce_at", in: times).map(
            Date.init(millisecondsSince1970:))
        seeders = try stored.optionalInt(7, "seeders")
        leechers = try stored.optionalInt(8, "leechers")
        completed = try stored.optionalInt(9, "completed")
        lastError = try stored.optionalText(10, "last_error")
        trackerId = try stored.optionalText(11, "tracker_id")
        lastScrapeAt = try stored.optionalInteger(12, "last_scrape_at", in: times).map(
            Date.init(millisecondsSince1970:))
        scrapeError = try stored.optionalText(13, "scrape_error")
    }
}
