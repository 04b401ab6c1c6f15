/// How many BEP 52 `hash request`s one peer may have answered: a bucket of answers refilled at
/// ``answersPerSecond`` (a burst of ``burst``), and no answer while more than half its send queue's
/// limit waits to go out. A request over either bound gets a `hash reject`; a peer refused that way
/// ``maxRefusals`` times is flooding and is dropped.
///
/// The reference client keeps at most two hash requests outstanding per peer, so it never meets
/// these bounds; a flooder costs at most a `hash reject` (52 bytes) per request until it is dropped.
struct PeerHashRequests {
    /// Answers a second, in the long run.
    static let answersPerSecond = 20.0
    /// Answers at once after a quiet spell.
    static let burst = 40.0
    /// Requests refused for the bounds before the peer is dropped.
    static let maxRefusals = 200

    /// What to do with one request.
    enum Admission: Equatable {
        /// Answer it.
        case answer
        /// Send `hash reject`: the peer asks too fast or reads too slowly.
        case refuse
        /// Drop the peer: it kept asking past the bounds.
        case flood
    }

    private var tokens = Self.burst
    private var refilledAt: ContinuousClock.Instant?
    /// Requests refused for the bounds so far.
    private(set) var refusals = 0
    /// Requests answered with hashes so far.
    private(set) var answered = 0

    /// Decides on one request arriving at `now` while `queuedBytes` wait to be sent to the peer, whose
    /// queue is limited to `queueLimit` bytes.
    mutating func admit(now: ContinuousClock.Instant, queuedBytes: Int, queueLimit: Int) -> Admission {
        if let refilledAt {
            let elapsed = Double((now - refilledAt) / .milliseconds(1)) / 1000
            tokens = min(Self.burst, tokens + max(0, elapsed) * Self.answersPerSecond)
        }
        refilledAt = now
        guard tokens >= 1, queuedBytes <= queueLimit / 2 else {
            refusals += 1
            return refusals > Self.maxRefusals ? .flood : .refuse
        }
        tokens -= 1
        answered += 1
        return .answer
    }
}
