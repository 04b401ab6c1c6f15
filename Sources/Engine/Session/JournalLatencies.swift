import Synchronization

/// How long the journal's store writes took, over every session of the process: each commit of a
/// progress batch and each durable checkpoint (the file sync and its record), as histograms for the
/// metrics (`/metrics` of `btq run --rpc`).
package final class JournalLatencies: Sendable {
    /// The process's.
    package static let shared = JournalLatencies()

    private let state = Mutex((commits: LatencyHistogram(), checkpoints: LatencyHistogram()))

    package init() {}

    /// A batch commit took `time`.
    package func recordCommit(_ time: Duration) { state.withLock { $0.commits.record(time) } }

    /// A checkpoint took `time`.
    package func recordCheckpoint(_ time: Duration) { state.withLock { $0.checkpoints.record(time) } }

    /// The histograms so far.
    package var snapshot: (commits: LatencyHistogram, checkpoints: LatencyHistogram) { state.withLock { $0 } }
}

/// A Prometheus-style histogram of durations: cumulative counts at fixed bounds, their count and sum.
public struct LatencyHistogram: Sendable, Hashable {
    /// The bucket bounds in seconds (the last, +Inf, is implied by ``count``).
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Observations at or below each bound, by bound (not cumulative).
    public private(set) var buckets = [Int64](repeating: 0, count: bounds.count)
    public private(set) var count: Int64 = 0
    /// Seconds over every observation.
    public private(set) var sum: Double = 0

    public init() {}

    public mutating func record(_ time: Duration) {
        let seconds = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
        count += 1
        sum += max(0, seconds)
        if let index = Self.bounds.firstIndex(where: { seconds <= $0 }) { buckets[index] += 1 }
    }
}
