/// When and where one torrent announces: the BEP 12 multitracker logic as a pure value, driven by an
/// injected clock (`now` arguments) and performed by ``TrackerAnnouncer``.
///
/// - One announce at a time. It goes to the first tracker, in tier order and in each tier's current
///   order, that is not backing off. A tracker that answers is promoted to the front of its tier and
///   sets the next regular announce (`interval` clamped by ``AnnounceResponse/effectiveInterval``). A
///   tracker that fails backs off (`retryBase`·2^(failures−1), at most `retryCap`) and the next one is
///   tried at once; when every tracker is backing off, the announce waits for the first to come back.
///   Each regular announce starts again from the first tier (BEP 12 prefers higher tiers).
/// - Events: each tracker's first announce is `started`; after ``downloadCompleted(now:)`` the next
///   announce is sent at once and is `completed` (once per session: the first success that reports it
///   ends that); ``stop(now:)`` returns `stopped` announces (`numwant` 0) for every tracker that knows
///   us, and nothing is planned after it.
/// - `key` stays the same for the session; each tracker's `tracker id` is echoed back to it.
///
/// Typical loop: `plan(now:)` → send each job → `record(_:for:now:)`; when `plan` returns nothing,
/// sleep until ``nextAnnounceDue(now:)`` or until the caller changes something.
public struct AnnounceStateMachine: Sendable {
    /// Tunables.
    public struct Configuration: Sendable, Hashable {
        /// `numwant` of regular announces.
        public var numWant: Int
        /// Back-off after a tracker's first failure, in seconds; it doubles with each further failure.
        public var retryBase: Int
        /// Longest back-off, in seconds.
        public var retryCap: Int
        /// How much longer than the tracker's interval a regular announce may wait, in thousandths of it: each
        /// torrent waits its own share of that (from its `key`), so torrents started together (a daemon's
        /// restart) drift apart instead of announcing in the same second at every interval.
        public var intervalSpread: Int

        /// Creates a configuration: 200 peers, back-off from 60 s up to 1 h, no spread.
        public init(numWant: Int = 200, retryBase: Int = 60, retryCap: Int = 3600, intervalSpread: Int = 0) {
            self.numWant = numWant
            self.retryBase = retryBase
            self.retryCap = retryCap
            self.intervalSpread = max(0, min(intervalSpread, 1000))
        }

        /// What btq announces with: a tenth of the interval of spread.
        public static let spread = Configuration(intervalSpread: 100)

        /// The back-off after `failures` failures in a row (1 or more), in seconds.
        public func retryDelay(failures: Int) -> Int {
            let doublings = min(max(failures - 1, 0), 30)
            return min(retryBase << doublings, retryCap)
        }
    }

    private enum Completion: Sendable {
        case notCompleted
        case pending
        case reported
    }

    private struct Entry: Sendable {
        var status: TrackerStatus
        var startedSent = false
        var retryAt: Timestamp?
        var minInterval: Int?
    }

    /// The session's `key`.
    public let key: UInt32

    /// `interval` plus this torrent's share of the configured spread (see ``Configuration/intervalSpread``).
    func spread(_ interval: Int) -> Int {
        interval + interval * configuration.intervalSpread * Int(key % 1000) / 1_000_000
    }
    /// The tunables.
    public let configuration: Configuration
    /// True after ``stop(now:)``.
    public private(set) var isStopped = false

    private var tiers: TrackerTiers
    private var entries: [String: Entry] = [:]
    private var dueAt: Timestamp?
    private var inFlight: AnnounceJob?
    private var completion = Completion.notCompleted
    private var current: String?
    private var nextJobId: UInt64 = 1

    /// A state machine over `tiers` (already shuffled); the first announce is due at once.
    public init(tiers: TrackerTiers, key: UInt32, configuration: Configuration = .init()) {
        self.tiers = tiers
        self.key = key
        self.configuration = configuration
        for (index, tier) in tiers.tiers.enumerated() {
            for url in tier { entries[url] = Entry(status: TrackerStatus(url: url, tier: index)) }
        }
    }

    /// The trackers in their current order of preference.
    public var order: [String] { tiers.ordered }

    /// Every tracker's status, in order of preference.
    public var statuses: [TrackerStatus] {
        tiers.ordered.compactMap { url in entries[url].map { status(of: url, $0) } }
    }

    /// One tracker's status.
    public func status(of url: String) -> TrackerStatus? {
        entries[url].map { status(of: url, $0) }
    }

    private func status(of url: String, _ entry: Entry) -> TrackerStatus {
        var status = entry.status
        status.isUpdating = inFlight?.url == url
        if isStopped {
            status.nextAnnounceAt = nil
        } else if let retryAt = entry.retryAt {
            status.nextAnnounceAt = retryAt
        } else if url == current {
            status.nextAnnounceAt = dueAt
        }
        return status
    }

    /// When ``plan(now:)`` will next have something to send: `now` or later; `nil` while an announce is
    /// on its way (its result decides), after ``stop(now:)``, or without trackers.
    public func nextAnnounceDue(now: Timestamp) -> Timestamp? {
        guard !isStopped, inFlight == nil, !tiers.isEmpty else { return nil }
        if let dueAt, dueAt > now { return dueAt }
        let earliest = tiers.ordered.map { entries[$0]?.retryAt ?? now }.min() ?? now
        return max(now, earliest)
    }

    /// The announce to send now, if any (at most one).
    public mutating func plan(now: Timestamp) -> [AnnounceJob] {
        guard !isStopped, inFlight == nil else { return [] }
        if let dueAt, now < dueAt { return [] }
        guard let url = tiers.ordered.first(where: { (entries[$0]?.retryAt ?? now) <= now }),
            var entry = entries[url]
        else {
            dueAt = tiers.ordered.compactMap { entries[$0]?.retryAt }.min()
            return []
        }
        let event: AnnounceEvent
        if !entry.startedSent {
            event = .started
        } else if completion == .pending {
            event = .completed
        } else {
            event = .none
        }
        let job = AnnounceJob(
            id: takeJobId(), url: url, tier: entry.status.tier, event: event, numWant: configuration.numWant,
            key: key, trackerId: entry.status.trackerId, reportsCompletion: completion == .pending)
        entry.status.lastAnnounceAt = now
        entries[url] = entry
        inFlight = job
        return [job]
    }

    /// Takes in the outcome of `job`. Results of jobs the machine no longer waits for are ignored.
    public mutating func record(_ result: Result<AnnounceResponse, TrackerError>, for job: AnnounceJob, now: Timestamp)
    {
        guard var entry = entries[job.url] else { return }
        defer { entries[job.url] = entry }
        if job.event == .stopped {
            entry.startedSent = false
            switch result {
            case .success(let response):
                entry.status.lastSuccessAt = now
                entry.status.lastError = nil
                Self.take(response, into: &entry)
            case .failure(let error):
                entry.status.lastError = error.description
            }
            return
        }
        guard inFlight?.id == job.id else { return }
        inFlight = nil
        switch result {
        case .success(let response):
            entry.status.failures = 0
            entry.retryAt = nil
            entry.status.lastError = nil
            entry.status.lastSuccessAt = now
            entry.minInterval = response.minInterval
            Self.take(response, into: &entry)
            if job.event == .started { entry.startedSent = true }
            if job.reportsCompletion { completion = .reported }
            guard !isStopped else { return }
            tiers.promote(job.url)
            current = job.url
            dueAt = completion == .pending ? now : now.adding(seconds: spread(response.effectiveInterval))
        case .failure(let error):
            entry.status.failures += 1
            entry.status.lastError = error.description
            entry.retryAt = now.adding(seconds: configuration.retryDelay(failures: entry.status.failures))
            if current == job.url { current = nil }
        }
    }

    /// Takes in the outcome of a scrape of `url` (see ``ScrapeSchedule``): its counts replace the
    /// tracker's, or its error is kept beside them (the counts stay, and the announces go on).
    public mutating func recordScrape(_ result: Result<ScrapeResult, TrackerError>, for url: String, now: Timestamp) {
        guard var entry = entries[url] else { return }
        switch result {
        case .success(let scrape):
            entry.status.seeders = scrape.seeders
            entry.status.leechers = scrape.leechers
            entry.status.completed = scrape.completed
            entry.status.lastScrapeAt = now
            entry.status.scrapeError = nil
        case .failure(let error):
            entry.status.scrapeError = error.description
        }
        entries[url] = entry
    }

    /// Forgets `job` without blaming its tracker: the announce was abandoned (the driver's task was
    /// cancelled), not answered.
    public mutating func abandon(_ job: AnnounceJob) {
        guard inFlight?.id == job.id else { return }
        inFlight = nil
    }

    /// The download completed: the next announce goes out at once and reports it. Only the first call
    /// of a session counts.
    public mutating func downloadCompleted(now: Timestamp) {
        guard completion == .notCompleted, !isStopped else { return }
        completion = .pending
        dueAt = now
    }

    /// Asks for peers soon: moves the next announce forward to the earliest moment the tracker in use
    /// allows (its `min interval`, at least 30 s after its last answer).
    public mutating func reannounce(now: Timestamp) {
        guard !isStopped, inFlight == nil else { return }
        var earliest = now
        if let current, let entry = entries[current], let last = entry.status.lastSuccessAt {
            let gap = max(entry.minInterval ?? 0, AnnounceResponse.intervalRange.lowerBound)
            earliest = max(now, last.adding(seconds: gap))
        }
        if let dueAt, dueAt <= earliest { return }
        dueAt = earliest
    }

    /// Stops the session: returns a `stopped` announce for every tracker that knows us (it answered a
    /// `started`, or a `started` to it is on its way). Nothing is planned afterwards.
    public mutating func stop(now: Timestamp) -> [AnnounceJob] {
        guard !isStopped else { return [] }
        isStopped = true
        return tiers.ordered.compactMap { url in
            guard let entry = entries[url], entry.startedSent || inFlight?.url == url else { return nil }
            return AnnounceJob(
                id: takeJobId(), url: url, tier: entry.status.tier, event: .stopped, numWant: 0, key: key,
                trackerId: entry.status.trackerId, reportsCompletion: false)
        }
    }

    private mutating func takeJobId() -> UInt64 {
        defer { nextJobId += 1 }
        return nextJobId
    }

    private static func take(_ response: AnnounceResponse, into entry: inout Entry) {
        if let seeders = response.seeders { entry.status.seeders = seeders }
        if let leechers = response.leechers { entry.status.leechers = leechers }
        if let completed = response.completed { entry.status.completed = completed }
        if let trackerId = response.trackerId { entry.status.trackerId = trackerId }
        entry.status.warning = response.warning
    }
}

extension Timestamp {
    /// This instant moved by `seconds`.
    func adding(seconds: Int) -> Timestamp {
        Timestamp(rawValue: rawValue + Int64(seconds) * 1000)
    }
}
