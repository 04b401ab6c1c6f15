/// What a starting torrent may believe of its recorded progress, given how earlier runs ended
/// (DESIGN.md, persistence invariants 3 and 4).
package struct ResumePolicy: Hashable, Sendable {
    /// A run of btq that ended without a clean stop (killed, crashed, or the machine went down).
    package struct UncleanStop: Hashable, Sendable {
        /// The kernel's boot id while it ran (`nil` when unknown).
        package var bootId: String?
        /// When it started.
        package var startedAt: Timestamp
        /// The last sign of life it recorded.
        package var lastSeenAt: Timestamp

        /// Creates a record.
        package init(bootId: String?, startedAt: Timestamp, lastSeenAt: Timestamp) {
            self.bootId = bootId
            self.startedAt = startedAt
            self.lastSeenAt = lastSeenAt
        }
    }

    /// This machine's boot id now (`nil` when unknown: a boot change is then never assumed).
    package var bootId: String?
    /// Runs that did not stop cleanly.
    package var uncleanStops: [UncleanStop]
    /// How long after a run's last sign of life its own writes may still have landed.
    package var writeSlack: Duration

    /// Creates a policy.
    package init(bootId: String? = nil, uncleanStops: [UncleanStop] = [], writeSlack: Duration = .seconds(10)) {
        self.bootId = bootId
        self.uncleanStops = uncleanStops
        self.writeSlack = writeSlack
    }

    /// Every earlier run stopped cleanly: the latest progress and the recorded file times stand.
    package static let cleanHistory = ResumePolicy()

    /// True when a power loss may have taken progress recorded after the torrent's last durable
    /// checkpoint: only the durable view of the progress is then trusted.
    ///
    /// The rule (DESIGN.md, persistence invariant 3): a checkpoint is stamped with the time its snapshot
    /// was taken, before its sync (`checkpointAt`), and the journal stamps what it records (`recordedAt`,
    /// the torrent's last record of verified pieces or block masks). Progress recorded before the
    /// checkpoint's time was synced by it and stands. Progress recorded at or after it (or with no
    /// checkpoint at all) may exist only in the page cache of the machine that recorded it: it is distrusted
    /// when a run of an earlier boot stopped uncleanly (the machine may have lost power) after having
    /// started by then (within ``writeSlack``, against clock steps). A run's heartbeat tells nothing of what
    /// was recorded and when, so it plays no part.
    package func distrustsLatestProgress(checkpointAt: Timestamp?, recordedAt: Timestamp?) -> Bool {
        guard let bootId, let recordedAt else { return false }
        if let checkpointAt, recordedAt < checkpointAt { return false }
        let slack = writeSlack.components.seconds * 1000
        return uncleanStops.contains { stop in
            guard let other = stop.bootId, other != bootId else { return false }
            return stop.startedAt.rawValue <= recordedAt.rawValue + slack
        }
    }

    /// True when a file's modification time may come from btq's own last writes of a run that stopped
    /// uncleanly (its writes after the last journal record): `recorded < actual`, inside such a run.
    package func isOwnLateWrite(recordedNanoseconds: Int64, actualNanoseconds: Int64) -> Bool {
        guard actualNanoseconds > recordedNanoseconds else { return false }
        let slack = writeSlack.components.seconds * 1000
        return uncleanStops.contains { stop in
            let from = stop.startedAt.rawValue * 1_000_000
            let until = (stop.lastSeenAt.rawValue + slack) * 1_000_000
            return actualNanoseconds >= from && actualNanoseconds <= until
        }
    }
}
