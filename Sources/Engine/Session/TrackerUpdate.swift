/// The current state of one tracker of one torrent, replacing what was recorded. A URL the torrent does
/// not list yet is appended in a new tier (trackers learned at run time).
package struct TrackerUpdate: Hashable, Sendable {
    /// The torrent.
    package var torrentId: Int64
    /// The announce URL (identifies the tracker within the torrent).
    package var url: String
    /// When the last announce was sent.
    package var lastAnnounceAt: Timestamp?
    /// When the next announce is due.
    package var nextAnnounceAt: Timestamp?
    /// Seeders (`complete`) from the last announce or scrape that said.
    package var seeders: Int?
    /// Leechers (`incomplete`) from the last announce or scrape that said.
    package var leechers: Int?
    /// Completed downloads (`downloaded`) from the last announce or scrape that said.
    package var completed: Int?
    /// When the tracker last answered a scrape.
    package var lastScrapeAt: Timestamp?
    /// Why the last scrape failed, `nil` after a success.
    package var scrapeError: String?
    /// The failure reason of the last announce, `nil` after a success.
    package var lastError: String?
    /// The `tracker id` to send back in later announces.
    package var trackerId: String?

    /// Creates a tracker state.
    package init(
        torrentId: Int64, url: String, lastAnnounceAt: Timestamp? = nil, nextAnnounceAt: Timestamp? = nil,
        seeders: Int? = nil, leechers: Int? = nil, completed: Int? = nil, lastError: String? = nil,
        trackerId: String? = nil, lastScrapeAt: Timestamp? = nil, scrapeError: String? = nil
    ) {
        self.torrentId = torrentId
        self.url = url
        self.lastAnnounceAt = lastAnnounceAt
        self.nextAnnounceAt = nextAnnounceAt
        self.seeders = seeders
        self.leechers = leechers
        self.completed = completed
        self.lastError = lastError
        self.trackerId = trackerId
        self.lastScrapeAt = lastScrapeAt
        self.scrapeError = scrapeError
    }
}
