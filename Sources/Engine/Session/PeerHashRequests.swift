/// How many BEP 52 `hash request`s one peer may have answered: a bucket of answers refilled at
/// ``answersPerSecond`` (a burst of ``burst``), and no answer while more than half its send queue's
/// limit waits to go out. A request over either bound gets a `hash reject`; a peer refused that way
/// ``maxRefusals`` times is flooding and is dropped.
///
/// An answer from the block layer reads data: it costs one answer per ``bytesPerAnswer`` it reads
/// (at least one), and at most ``maxDataAnswers`` of them are being read for a peer at once.
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
    /// The data an answer of the block layer reads for the cost of one answer.
    static let bytesPerAnswer = 4 << 20
    /// Answers of the block layer being read for one peer at once.
    static let maxDataAnswers = 2

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
    /// Answers of the block layer whose data is being read.
    var dataAnswersInFlight = 0

    /// What an answer reading `bytes` of data costs (1 for an answer from the tree).
    static func cost(readingBytes bytes: Int) -> Double {
        Double(max(1, (bytes + bytesPerAnswer - 1) / bytesPerAnswer))
    }

    /// Decides on one request arriving at `now` while `queuedBytes` wait to be sent to the peer, whose
    /// queue is limited to `queueLimit` bytes; the answer costs `cost` answers of the bucket.
    mutating func admit(
        now: ContinuousClock.Instant, queuedBytes: Int, queueLimit: Int, cost: Double = 1
    ) -> Admission {
        if let refilledAt {
            let elapsed = Double((now - refilledAt) / .milliseconds(1)) / 1000
            tokens = min(Self.burst, tokens + max(0, elapsed) * Self.answersPerSecond)
        }
        refilledAt = now
        guard tokens >= cost, queuedBytes <= queueLimit / 2 else {
            refusals += 1
            return refusals > Self.maxRefusals ? .flood : .refuse
        }
        tokens -= cost
        answered += 1
        return .answer
    }
}
