/// What btq knows about one tracker of one torrent, for display and for the store (see
/// `TrackerUpdate.init(_:torrentId:)`).
public struct TrackerStatus: Sendable, Hashable {
    /// The announce URL.
    public var url: String
    /// The tier (0 first).
    public var tier: Int
    /// Seeders from the last answer that said (an announce or a scrape, whichever came last).
    public var seeders: Int?
    /// Leechers from the last answer that said.
    public var leechers: Int?
    /// Completed downloads from the last answer that said.
    public var completed: Int?
    /// When the last announce was sent.
    public var lastAnnounceAt: Timestamp?
    /// When the tracker last answered.
    public var lastSuccessAt: Timestamp?
    /// When this tracker is due again: the regular announce of the tracker in use, or the end of the
    /// back-off of one that failed; `nil` when it is not scheduled by itself.
    public var nextAnnounceAt: Timestamp?
    /// Why the last announce failed; `nil` after a success.
    public var lastError: String?
    /// The `warning message` of the last answer.
    public var warning: String?
    /// The `tracker id` to echo.
    public var trackerId: String?
    /// Failures in a row.
    public var failures: Int
    /// True while an announce to it is on its way.
    public var isUpdating: Bool
    /// When it last answered a scrape.
    public var lastScrapeAt: Timestamp?
    /// Why its last scrape failed; `nil` after a success (and before any scrape).
    public var scrapeError: String?

    /// Creates a status.
    public init(
        url: String, tier: Int, seeders: Int? = nil, leechers: Int? = nil, completed: Int? = nil,
        lastAnnounceAt: Timestamp? = nil, lastSuccessAt: Timestamp? = nil, nextAnnounceAt: Timestamp? = nil,
        lastError: String? = nil, warning: String? = nil, trackerId: String? = nil, failures: Int = 0,
        isUpdating: Bool = false, lastScrapeAt: Timestamp? = nil, scrapeError: String? = nil
    ) {
        self.url = url
        self.tier = tier
        self.seeders = seeders
        self.leechers = leechers
        self.completed = completed
        self.lastAnnounceAt = lastAnnounceAt
        self.lastSuccessAt = lastSuccessAt
        self.nextAnnounceAt = nextAnnounceAt
        self.lastError = lastError
        self.warning = warning
        self.trackerId = trackerId
        self.failures = failures
        self.isUpdating = isUpdating
        self.lastScrapeAt = lastScrapeAt
        self.scrapeError = scrapeError
    }
}
