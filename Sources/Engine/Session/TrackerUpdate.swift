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
    /// `complete` from the last response.
    package var seeders: Int?
    /// `incomplete` from the last response.
    package var leechers: Int?
    /// `downloaded` from the last scrape.
    package var completed: Int?
    /// The failure reason of the last announce, `nil` after a success.
    package var lastError: String?
    /// The `tracker id` to send back in later announces.
    package var trackerId: String?

    /// Creates a tracker state.
    package init(
        torrentId: Int64, url: String, lastAnnounceAt: Timestamp? = nil, nextAnnounceAt: Timestamp? = nil,
        seeders: Int? = nil, leechers: Int? = nil, completed: Int? = nil, lastError: String? = nil,
        trackerId: String? = nil
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
    }
}
