/// What a session counts of its transfers: the torrent's lifetime totals, the rates each way over the
/// last few seconds, and when data last arrived (how long a download has been stalled).
///
/// A value the session owns; every question takes the clock's instant, so tests need no sleeps.
struct TransferStatistics {
    /// Bytes one way over the last ``span``, for a smoothed rate: in buckets of ``bucket``, oldest
    /// first, each dropped once older than the span. Its memory and its work per block are bounded,
    /// whether or not anyone asks for the rate (a daemon that is never asked still receives blocks).
    struct RateWindow {
        /// How far back a rate looks.
        static let span = Duration.seconds(3)
        /// The shortest time a rate is taken over: a first block alone is not an endless rate.
        static let shortest = 0.5
        /// Blocks within this time of a bucket's first go into that bucket.
        static let bucket = Duration.milliseconds(100)

        private var samples: [(at: ContinuousClock.Instant, bytes: Int64)] = []
        /// The first sample still in the window.
        private var head = 0
        /// Bytes of the samples from ``head`` on.
        private var bytes: Int64 = 0

        /// Buckets kept now (at most about ``span`` / ``bucket``, plus what awaits compaction).
        var storedSamples: Int { samples.count - head }

        /// `bytes` went by at `now`.
        mutating func add(_ bytes: Int64, at now: ContinuousClock.Instant) {
            trim(at: now)
            self.bytes += bytes
            if let last = samples.last, samples.count > head, now - last.at < Self.bucket {
                samples[samples.count - 1].bytes += bytes
            } else {
                samples.append((now, bytes))
            }
        }

        /// Bytes per second over the samples of the last ``span`` before `now`.
        mutating func rate(at now: ContinuousClock.Instant) -> Double {
            trim(at: now)
            return peekRate(at: now)
        }

        /// ``rate(at:)`` without dropping the samples out of the span (for a snapshot).
        func peekRate(at now: ContinuousClock.Instant) -> Double {
            var first = head
            var bytes = self.bytes
            while first < samples.count, now - samples[first].at > Self.span {
                bytes -= samples[first].bytes
                first += 1
            }
            guard first < samples.count else { return 0 }
            let elapsed = now - samples[first].at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Double(bytes) / max(Self.shortest, seconds)
        }

        /// Drops the samples older than the span at `now`, and the storage they held once it is most of it.
        private mutating func trim(at now: ContinuousClock.Instant) {
            while head < samples.count, now - samples[head].at > Self.span {
                bytes -= samples[head].bytes
                head += 1
            }
            if head >= 32, head * 2 >= samples.count {
                samples.removeFirst(head)
                head = 0
            }
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
