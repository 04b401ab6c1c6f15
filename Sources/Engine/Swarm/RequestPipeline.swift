/// Sizes one peer's request queue: how many block requests to keep outstanding so the peer's link
/// never idles, from its measured download rate, like libtorrent's `request_queue_time`.
///
/// The target is `rate × queueTime / blockSize` requests, clamped to ``minimum``...``maximum``: with
/// 3 s of data in flight, latency up to a few seconds is covered and a fast peer is not starved. The
/// rate is an exponentially weighted average of the bytes counted between ticks; the session calls
/// ``record(bytes:)`` for each block and ``tick(elapsed:)`` about once a second. Until the first tick
/// there is no rate: the depth starts at ``minimum`` and grows by one request for each block received
/// (slow start, as in TCP and libtorrent), so it doubles every round trip instead of holding a fast
/// peer to ``minimum`` requests until the first tick.
public struct RequestPipeline: Hashable, Sendable {
    /// The fewest outstanding requests, also the depth before any rate is known.
    public var minimum: Int
    /// The most outstanding requests (what most clients accept: about 250).
    public var maximum: Int
    /// How many seconds of data to keep requested.
    public var queueTime: Double
    /// The weight of the newest rate sample (0...1).
    public var smoothing: Double

    /// The smoothed download rate in bytes per second.
    public private(set) var bytesPerSecond: Double = 0
    private var bytesSinceTick = 0
    private var hasSample = false
    /// The depth before the first rate sample: ``minimum`` plus one for each block received.
    private var slowStartDepth: Int

    /// Creates a pipeline with libtorrent-like defaults.
    public init(minimum: Int = 4, maximum: Int = 250, queueTime: Double = 3, smoothing: Double = 0.3) {
        precondition(minimum > 0 && maximum >= minimum, "need 0 < minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.queueTime = queueTime
        self.smoothing = smoothing
        self.slowStartDepth = minimum
    }

    /// Counts `bytes` of block payload (one block) received from the peer.
    public mutating func record(bytes: Int) {
        bytesSinceTick += bytes
        if !hasSample { slowStartDepth = min(maximum, slowStartDepth + 1) }
    }

    /// Folds the bytes counted since the last tick into the rate. Call about once a second.
    public mutating func tick(elapsed: Duration) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        guard seconds > 0 else { return }
        let sample = Double(bytesSinceTick) / seconds
        bytesSinceTick = 0
        bytesPerSecond = hasSample ? smoothing * sample + (1 - smoothing) * bytesPerSecond : sample
        hasSample = true
    }

    /// How many requests should be outstanding now.
    public var targetDepth: Int {
        guard hasSample else { return slowStartDepth }
        return Self.depth(bytesPerSecond: bytesPerSecond, queueTime: queueTime, in: minimum...maximum)
    }

    /// How many new requests to send when `outstanding` are already in flight.
    public func room(outstanding: Int) -> Int { max(0, targetDepth - outstanding) }

    /// `rate × queueTime / 16 KiB`, rounded up and clamped to `bounds`.
    public static func depth(bytesPerSecond: Double, queueTime: Double, in bounds: ClosedRange<Int>) -> Int {
        let blocks = (bytesPerSecond * queueTime / Double(PieceLayout.blockSize)).rounded(.up)
        guard blocks.isFinite else { return bounds.upperBound }
        return min(max(Int(min(blocks, Double(bounds.upperBound))), bounds.lowerBound), bounds.upperBound)
    }
}
