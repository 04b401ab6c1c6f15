/// What a starting torrent may believe of its recorded progress, given how earlier runs ended
/// (DESIGN.md, persistence invariants 3 and 4).
public struct ResumePolicy: Hashable, Sendable {
    /// A run of btq that ended without a clean stop (killed, crashed, or the machine went down).
    public struct UncleanStop: Hashable, Sendable {
        /// The kernel's boot id while it ran (`nil` when unknown).
        public var bootId: String?
        /// When it started.
        public var startedAt: Timestamp
        /// The last sign of life it recorded.
        public var lastSeenAt: Timestamp

        /// Creates a record.
        public init(bootId: String?, startedAt: Timestamp, lastSeenAt: Timestamp) {
            self.bootId = bootId
            self.startedAt = startedAt
            self.lastSeenAt = lastSeenAt
        }
    }

    /// This machine's boot id now (`nil` when unknown: a boot change is then never assumed).
    public var bootId: String?
    /// Runs that did not stop cleanly.
    public var uncleanStops: [UncleanStop]
    /// How long after a run's last sign of life its own writes may still have landed.
    public var writeSlack: Duration

    /// Creates a policy.
    public init(bootId: String? = nil, uncleanStops: [UncleanStop] = [], writeSlack: Duration = .seconds(10)) {
        self.bootId = bootId
        self.uncleanStops = uncleanStops
        self.writeSlack = writeSlack
    }

    /// Every earlier run stopped cleanly: the latest progress and the recorded file times stand.
    public static let cleanHistory = ResumePolicy()

    /// True when the machine may have lost power after a torrent's last durable checkpoint: a run of an
    /// earlier boot stopped uncleanly after it. Only the durable view of the progress is then trusted.
    public func distrustsLatestProgress(checkpointAt: Timestamp?) -> Bool {
        guard let bootId else { return false }
        return uncleanStops.contains { stop in
            guard let other = stop.bootId, other != bootId else { return false }
            return checkpointAt.map { stop.lastSeenAt >= $0 } ?? true
        }
    }

    /// True when a file's modification time may come from btq's own last writes of a run that stopped
    /// uncleanly (its writes after the last journal record): `recorded < actual`, inside such a run.
    public func isOwnLateWrite(recordedNanoseconds: Int64, actualNanoseconds: Int64) -> Bool {
        guard actualNanoseconds > recordedNanoseconds else { return false }
        let slack = writeSlack.components.seconds * 1000
        return uncleanStops.contains { stop in
            let from = stop.startedAt.rawValue * 1_000_000
            let until = (stop.lastSeenAt.rawValue + slack) * 1_000_000
            return actualNanoseconds >= from && actualNanoseconds <= until
        }
    }
}
