/// How long a web seed rests after failures in a row: 2 s doubling up to 2 minutes, or what the
/// server's `Retry-After` asked for, within 1 s and 5 minutes. Given up on (for the run) after
/// ``maxFailuresInARow`` failures in a row.
public struct WebSeedBackoff: Hashable, Sendable {
    /// The rest after the first failure.
    public var initial: Duration = .seconds(2)
    /// The longest rest without a `Retry-After`.
    public var maximum: Duration = .seconds(120)
    /// The bounds a `Retry-After` is clamped to.
    public var retryAfterRange: ClosedRange<Duration> = .seconds(1) ... .seconds(300)
    /// Failures in a row after which the web seed is dropped for the run.
    public var maxFailuresInARow = 8

    /// The defaults.
    public init() {}

    /// The rest after the `failures`-th failure in a row (1 or more), honouring `retryAfter` when the
    /// server gave one.
    public func delay(afterFailures failures: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter {
            return min(max(retryAfter, retryAfterRange.lowerBound), retryAfterRange.upperBound)
        }
        let doublings = min(max(failures - 1, 0), 16)
        return min(initial * (1 << doublings), maximum)
    }

    /// Whether `failures` in a row are enough to give up on the web seed.
    public func givesUp(afterFailures failures: Int) -> Bool { failures >= maxFailuresInARow }
}
