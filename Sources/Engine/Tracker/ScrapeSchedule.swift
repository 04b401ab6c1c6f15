/// When each tracker of one torrent is scraped (BEP 48 over HTTP, BEP 15 over UDP): a pure value driven
/// by an injected clock and performed by ``TrackerAnnouncer``.
///
/// - Every tracker that has a scrape URL (``TrackerClient/canScrape(_:)``) is scraped once at the start,
///   then every ``Configuration/interval`` (30 min), and again right after each of its announces that
///   succeeded (so `completed` follows a `completed` announce), but never sooner than the
///   `min_request_interval` its last scrape reply asked for.
/// - A tracker whose scrape fails backs off (`retryBase`·2^(failures−1), at most `retryCap`); an announce
///   does not cut that short. A tracker that turns out to have no scrape URL is never scraped again.
/// - One scrape per tracker at a time: ``due(now:)`` hands out each due tracker once, until its
///   ``record(_:for:now:)`` or ``abandon(_:)``.
public struct ScrapeSchedule: Sendable {
    /// Tunables.
    public struct Configuration: Sendable, Hashable {
        /// Seconds between two regular scrapes of a tracker.
        public var interval: Int
        /// Back-off after a tracker's first failed scrape, in seconds; it doubles with each further failure.
        public var retryBase: Int
        /// Longest back-off, in seconds.
        public var retryCap: Int

        /// Creates a configuration: every 30 min, back-off from 5 min up to 1 h.
        public init(interval: Int = 1800, retryBase: Int = 300, retryCap: Int = 3600) {
            self.interval = interval
            self.retryBase = retryBase
            self.retryCap = retryCap
        }

        /// The back-off after `failures` failed scrapes in a row (1 or more), in seconds.
        public func retryDelay(failures: Int) -> Int {
            let doublings = min(max(failures - 1, 0), 30)
            return min(retryBase << doublings, retryCap)
        }
    }

    private struct Entry: Sendable {
        var dueAt: Timestamp
        var notBefore: Timestamp?
        var failures = 0
        var isScraping = false
        var announcedWhileScraping = false
    }

    /// The tunables.
    public let configuration: Configuration
    private var entries: [String: Entry] = [:]
    private var order: [String] = []

    /// A schedule over those of `urls` that can be scraped, each due at `now`.
    public init(urls: [String], now: Timestamp, configuration: Configuration = .init()) {
        self.configuration = configuration
        for url in urls where TrackerClient.canScrape(url) && entries[url] == nil {
            entries[url] = Entry(dueAt: now)
            order.append(url)
        }
    }

    /// The trackers scraped, in the order they were given.
    public var urls: [String] { order.filter { entries[$0] != nil } }

    /// The trackers to scrape now; each is handed out once until its result is recorded.
    public mutating func due(now: Timestamp) -> [String] {
        var due: [String] = []
        for url in order {
            guard var entry = entries[url], !entry.isScraping, entry.dueAt <= now else { continue }
            entry.isScraping = true
            entries[url] = entry
            due.append(url)
        }
        return due
    }

    /// When ``due(now:)`` will next hand something out (`now` or later); `nil` when every tracker is
    /// being scraped or there is none.
    public func nextDue(now: Timestamp) -> Timestamp? {
        entries.values.filter { !$0.isScraping }.map(\.dueAt).min().map { max($0, now) }
    }

    /// An announce to `url` succeeded: its scrape is due now, or when its `min_request_interval` ends
    /// (while a scrape of it is on its way: once that one is answered). Nothing changes while it backs off.
    public mutating func announced(_ url: String, now: Timestamp) {
        guard var entry = entries[url], entry.failures == 0 else { return }
        if entry.isScraping {
            entry.announcedWhileScraping = true
        } else {
            entry.dueAt = min(entry.dueAt, max(now, entry.notBefore ?? now))
        }
        entries[url] = entry
    }

    /// Takes in the outcome of the scrape of `url`.
    public mutating func record(_ result: Result<ScrapeResult, TrackerError>, for url: String, now: Timestamp) {
        guard var entry = entries[url] else { return }
        let announcedWhileScraping = entry.announcedWhileScraping
        entry.isScraping = false
        entry.announcedWhileScraping = false
        switch result {
        case .success(let scrape):
            entry.failures = 0
            let wait = scrape.minRequestInterval ?? 0
            entry.notBefore = now.adding(seconds: wait)
            entry.dueAt = now.adding(seconds: announcedWhileScraping ? wait : max(configuration.interval, wait))
        case .failure(let error) where error.isUnsupportedURL:
            entries[url] = nil
            return
        case .failure:
            entry.failures += 1
            entry.dueAt = now.adding(seconds: configuration.retryDelay(failures: entry.failures))
        }
        entries[url] = entry
    }

    /// Forgets the scrape of `url` on its way without blaming the tracker (it was cancelled); it is due
    /// again as it was.
    public mutating func abandon(_ url: String) {
        entries[url]?.isScraping = false
    }
}
