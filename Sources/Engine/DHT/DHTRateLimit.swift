/// How many queries each address may make: a bucket of ``burst`` queries per IP address, refilled at
/// ``perSecond``. A query over it is dropped unanswered. Bounded: at most ``maxAddresses`` addresses are
/// tracked; when full, those whose bucket refilled are forgotten, and a new address beyond is refused
/// until then (a flood from many addresses costs their queries, not our memory).
struct DHTRateLimit: Sendable {
    static let burst = 40.0
    static let perSecond = 20.0
    static let maxAddresses = 4_096

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private var buckets: [PeerAddress.Host: Bucket] = [:]
    private var lastPurge: ContinuousClock.Instant?

    /// True when `host` may make one more query at `now` (and takes it from its bucket).
    mutating func allow(_ host: PeerAddress.Host, at now: ContinuousClock.Instant) -> Bool {
        if var bucket = buckets[host] {
            bucket.tokens = min(Self.burst, bucket.tokens + Self.refill(now - bucket.updated))
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[host] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[host] = bucket
            return true
        }
        if buckets.count >= Self.maxAddresses {
            purge(at: now)
            guard buckets.count < Self.maxAddresses else { return false }
        }
        buckets[host] = Bucket(tokens: Self.burst - 1, updated: now)
        return true
    }

    private static func refill(_ elapsed: Duration) -> Double {
        let (seconds, attoseconds) = elapsed.components
        return (Double(seconds) + Double(attoseconds) / 1e18) * perSecond
    }

    /// Forgets the addresses whose bucket is full again, at most once a second (so a full table costs
    /// linear work once a second, not once per query).
    private mutating func purge(at now: ContinuousClock.Instant) {
        if let lastPurge, now - lastPurge < .seconds(1) { return }
        lastPurge = now
        buckets = buckets.filter { $0.value.tokens + Self.refill(now - $0.value.updated) < Self.burst }
    }
}
