/// A token bucket for one rate limit, as a pure value: bytes may be spent ahead of the refill (the
/// bucket goes into debt), and the caller waits until the debt is paid back.
///
/// ``reserve(_:now:)`` charges bytes and returns how long the caller must wait before it sends (or
/// reads on), so several callers that share a bucket queue up behind one another in order. A rate of
/// 0 means no limit: nothing is ever charged and nothing waits.
public struct TokenBucket: Hashable, Sendable {
    /// Bytes per second; 0 means unlimited.
    public private(set) var rate: Int
    /// The most bytes that may go out at once after an idle spell.
    public private(set) var capacity: Int
    /// Bytes that may be spent now; negative while in debt.
    public private(set) var tokens: Double
    private var refilledAt: ContinuousClock.Instant

    /// A full bucket refilled at `rate` bytes per second (0: unlimited), with a burst of a quarter
    /// second's worth (at least 16 KiB, one block).
    public init(rate: Int, now: ContinuousClock.Instant = .now) {
        self.rate = max(0, rate)
        self.capacity = Self.capacity(for: self.rate)
        self.tokens = Double(capacity)
        self.refilledAt = now
    }

    /// The burst size for `rate`.
    public static func capacity(for rate: Int) -> Int { max(16 * 1024, rate / 4) }

    /// Whether the bucket limits anything.
    public var isLimited: Bool { rate > 0 }

    /// Changes the rate, keeping the current debt (or credit, capped at the new capacity).
    public mutating func setRate(_ newRate: Int, now: ContinuousClock.Instant) {
        refill(now: now)
        rate = max(0, newRate)
        capacity = Self.capacity(for: rate)
        tokens = rate == 0 ? Double(capacity) : min(tokens, Double(capacity))
    }

    /// Charges `bytes` and returns how long to wait before they may go (zero when the bucket had them).
    public mutating func reserve(_ bytes: Int, now: ContinuousClock.Instant) -> Duration {
        guard rate > 0 else { return .zero }
        refill(now: now)
        tokens -= Double(bytes)
        return wait()
    }

    /// How long until the debt is paid back, without charging anything.
    public mutating func delay(now: ContinuousClock.Instant) -> Duration {
        guard rate > 0 else { return .zero }
        refill(now: now)
        return wait()
    }

    private func wait() -> Duration {
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / Double(rate) * 1e9).rounded(.up)))
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        guard now > refilledAt else { return }
        let elapsed = now - refilledAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        tokens = min(Double(capacity), tokens + seconds * Double(rate))
        refilledAt = now
    }
}
