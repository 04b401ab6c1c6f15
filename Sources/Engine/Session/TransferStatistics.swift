/// What a session counts of its transfers: the torrent's lifetime totals, the rates each way over the
/// last few seconds, and when data last arrived (how long a download has been stalled).
///
/// A value the session owns; every question takes the clock's instant, so tests need no sleeps.
struct TransferStatistics {
    /// Bytes one way over the last ``span``, for a smoothed rate.
    struct RateWindow {
        /// How far back a rate looks.
        static let span = Duration.seconds(3)
        /// The shortest time a rate is taken over: a first block alone is not an endless rate.
        static let shortest = 0.5

        private var samples: [(at: ContinuousClock.Instant, bytes: Int64)] = []

        /// `bytes` went by at `now`.
        mutating func add(_ bytes: Int64, at now: ContinuousClock.Instant) {
            samples.append((now, bytes))
        }

        /// Bytes per second over the samples of the last ``span`` before `now` (older ones are dropped).
        mutating func rate(at now: ContinuousClock.Instant) -> Double {
            samples.removeAll { now - $0.at > Self.span }
            guard let first = samples.first else { return 0 }
            let bytes = samples.reduce(Int64(0)) { $0 + $1.bytes }
            let elapsed = now - first.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Double(bytes) / max(Self.shortest, seconds)
        }
    }

    /// Bytes each way over the torrent's life (restored from the resume store at start).
    private(set) var totals = TransferTotals()
    /// When the session was created.
    let sessionStart: ContinuousClock.Instant
    /// When the last block arrived (or the download started).
    private(set) var lastDataAt: ContinuousClock.Instant
    private var downloads = RateWindow()
    private var uploads = RateWindow()

    init(start: ContinuousClock.Instant) {
        sessionStart = start
        lastDataAt = start
    }

    /// Takes up the totals an earlier run recorded.
    mutating func restore(_ totals: TransferTotals) {
        self.totals = totals
    }

    /// The download starts (or starts over) at `now`: the time without data counts from here.
    mutating func downloadStarted(at now: ContinuousClock.Instant) {
        lastDataAt = now
    }

    /// A block of `bytes` arrived at `now`.
    mutating func downloaded(_ bytes: Int64, at now: ContinuousClock.Instant) {
        totals.downloaded += bytes
        lastDataAt = now
        downloads.add(bytes, at: now)
    }

    /// `bytes` received were thrown away (a duplicate, a piece that failed its check).
    mutating func wasted(_ bytes: Int64) {
        totals.wasted += bytes
    }

    /// A block of `bytes` went to a peer at `now`.
    mutating func uploaded(_ bytes: Int64, at now: ContinuousClock.Instant) {
        totals.uploaded += bytes
        uploads.add(bytes, at: now)
    }

    /// The download rate over the last few seconds, in bytes per second.
    mutating func downloadRate(at now: ContinuousClock.Instant) -> Double { downloads.rate(at: now) }

    /// The upload rate over the last few seconds, in bytes per second.
    mutating func uploadRate(at now: ContinuousClock.Instant) -> Double { uploads.rate(at: now) }

    /// How long no block has arrived, at `now`.
    func idleTime(at now: ContinuousClock.Instant) -> Duration { now - lastDataAt }

    /// How long the session has existed, at `now`.
    func age(at now: ContinuousClock.Instant) -> Duration { now - sessionStart }
}
