import Synchronization

/// A rate limit shared by several tasks (every peer of a torrent, or every torrent of the process):
/// a ``TokenBucket`` behind a lock. Its rate can change while it is in use (`btq config set`).
public final class RateLimiter: Sendable {
    private let bucket: Mutex<TokenBucket>

    /// A limiter at `bytesPerSecond` (0: unlimited).
    public init(bytesPerSecond: Int = 0) {
        bucket = Mutex(TokenBucket(rate: bytesPerSecond))
    }

    /// The current rate in bytes per second (0: unlimited).
    public var bytesPerSecond: Int { bucket.withLock { $0.rate } }

    /// Changes the rate (0: unlimited).
    public func setRate(_ bytesPerSecond: Int) {
        bucket.withLock { bucket in
            if bucket.rate != bytesPerSecond { bucket.setRate(bytesPerSecond, now: .now) }
        }
    }

    /// Charges `bytes` and returns how long to wait before they may go.
    public func reserve(_ bytes: Int) -> Duration {
        bucket.withLock { $0.reserve(bytes, now: .now) }
    }

    /// How long until the limiter is out of debt.
    public func delay() -> Duration {
        bucket.withLock { $0.delay(now: .now) }
    }

    /// Whether the limiter is in debt now (more was spent than the rate allows).
    public var isInDebt: Bool { delay() > .zero }
}

/// The rate limits a session obeys: the process-wide ones and its own, each way.
public struct TransferLimits: Sendable {
    /// Limits on bytes received (shared by every session of the process).
    public var globalDownload: RateLimiter
    /// Limits on bytes sent (shared by every session of the process).
    public var globalUpload: RateLimiter
    /// This torrent's own download limit.
    public var download: RateLimiter
    /// This torrent's own upload limit.
    public var upload: RateLimiter

    /// Limits; by default all unlimited and unshared.
    public init(
        globalDownload: RateLimiter = RateLimiter(), globalUpload: RateLimiter = RateLimiter(),
        download: RateLimiter = RateLimiter(), upload: RateLimiter = RateLimiter()
    ) {
        self.globalDownload = globalDownload
        self.globalUpload = globalUpload
        self.download = download
        self.upload = upload
    }

    /// Charges received bytes to both download limiters; returns how long to pause reading.
    func reserveDownload(_ bytes: Int) -> Duration {
        max(globalDownload.reserve(bytes), download.reserve(bytes))
    }

    /// Charges bytes to send to both upload limiters; returns how long to hold them back.
    func reserveUpload(_ bytes: Int) -> Duration {
        max(globalUpload.reserve(bytes), upload.reserve(bytes))
    }

    /// The tighter of the two download rates, 0 when neither limits.
    var downloadRate: Int {
        let rates = [globalDownload.bytesPerSecond, download.bytesPerSecond].filter { $0 > 0 }
        return rates.min() ?? 0
    }

    /// Whether received bytes are ahead of the download limit (new requests should wait).
    var downloadInDebt: Bool { globalDownload.isInDebt || download.isInDebt }
}
