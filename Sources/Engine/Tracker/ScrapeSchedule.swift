/// When each tracker of one torrent is scraped (BEP 48 over HTTP, BEP 15 over UDP): a pure value driven
/// by an injected clock and performed by ``TrackerAnnouncer``.
///
/// - Every tracker that has a scrape URL (``TrackerClient/canScrape(_:)``) is scraped once at the start,
///   then every ``Configuration/interval`` (30 min), and again right after each of its announces that
///   succeeded without all of a scrape's counts (``TrackerAnnouncer`` decides; so `completed` follows a
///   `completed` announce), but never sooner than the `min_request_interval` its last scrape reply
///   asked for.
/// - A tracker whose scrape fails backs off (`retryBase`·2^(failures−1), at most `retryCap`), but an
///   announce it answered without a scrape's counts still asks for one (the tracker is up): a tracker
///   that refuses every scrape gets at most one more per announce, and further failures keep doubling
///   the back-off. A tracker that turns out to have no scrape URL is never scraped again.
/// - A reply that does not mention the torrent (``TrackerError/notInScrapeReply``: the tracker does not
///   know it yet, as when the first scrape overtakes the first announce, or keeps no peer of it) is no
///   failure: the scrape waits for the next such announce, else the regular interval.
/// - One scrape per tracker at a time: ``due(now:)`` hands out each due tracker once, until its
///   ``record(_:for:now:)`` or ``abandon(_:)``.
/// - The regular interval and the back-off are lengthened by the torrent's share of
///   ``Configuration/spread`` (from its announce `key`), so that the torrents of a daemon, started
///   together, do not scrape a tracker in the same second at every interval or retry (1,000 seeds whose
///   tracker refused scrapes retried them all within 3 s, 1.5 s of CPU, every back-off).
public struct ScrapeSchedule: Sendable {
    /// Tunables.
    public struct Configuration: Sendable, Hashable {
        /// Seconds between two regular scrapes of a tracker.
        public var interval: Int
        /// Back-off after a tracker's first failed scrape, in seconds; it doubles with each further failure.
        public var retryBase: Int
        /// Longest back-off, in seconds.
        public var retryCap: Int
        /// How much longer than the interval or the back-off a torrent may wait, in thousandths of it: each
        /// torrent waits its own share of that (from its `key`).
        public var spread: Int

        /// Creates a configuration: every 30 min, back-off from 5 min up to 1 h, no spread.
        public init(interval: Int = 1800, retryBase: Int = 300, retryCap: Int = 3600, spread: Int = 0) {
            self.interval = interval
            self.retryBase = retryBase
            self.retryCap = retryCap
            self.spread = max(0, min(spread, 1000))
        }

        /// What btq scrapes with: a tenth of the interval or back-off of spread.
        public static let spread = Configuration(spread: 100)

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
    /// The torrent's announce `key`: its share of ``Configuration/spread``.
    public let key: UInt32
    private var entries: [String: Entry] = [:]
    private var order: [String] = []

    /// A schedule over those of `urls` that can be scraped, each due at `now`.
    public init(urls: [String], now: Timestamp, configuration: Configuration = .init(), key: UInt32 = 0) {
        self.configuration = configuration
        self.key = key
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

    /// An announce to `url` succeeded without all of a scrape's counts: its scrape is due now, or when its
    /// `min_request_interval` ends (while a scrape of it is on its way: once that one is answered), even
    /// while it backs off from a failed scrape (the failures are kept: the back-off goes on doubling).
    public mutating func announced(_ url: String, now: Timestamp) {
        guard var entry = entries[url] else { return }
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
            entry.dueAt = now.adding(seconds: announcedWhileScraping ? wait : max(spread(configuration.interval), wait))
        case .failure(let error) where error.isUnsupportedURL:
            entries[url] = nil
            return
        case .failure(let error) where error == .notInScrapeReply:
            // The tracker answered, without the torrent: nothing to back off from.
            entry.failures = 0
            entry.dueAt =
                announcedWhileScraping
                ? max(now, entry.notBefore ?? now) : now.adding(seconds: spread(configuration.interval))
        case .failure:
            entry.failures += 1
            entry.dueAt = now.adding(seconds: spread(configuration.retryDelay(failures: entry.failures)))
        }
        entries[url] = entry
    }

    /// `seconds` plus this torrent's share of the configured spread.
    func spread(_ seconds: Int) -> Int {
        seconds + seconds * configuration.spread * Int(key % 1000) / 1_000_000
    }

    /// Forgets the scrape of `url` on its way without blaming the tracker (it was cancelled); it is due
    /// again as it was.
    public mutating func abandon(_ url: String) {
        entries[url]?.isScraping = false
    }
}
