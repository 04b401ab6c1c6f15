/// A session's trackers: how to reach them, the announcer that works them while the session runs (as jobs
/// of the ``Scheduler``, see ``TrackerAnnouncer/schedule(on:handle:)``), and
/// whether the download's completion was announced (once per run).
struct SessionTrackers {
    /// How to reach the torrent's trackers; `nil` uses none (peers come from elsewhere).
    let transport: (any TrackerTransport)?
    /// Announces while the session runs; `nil` before ``start(tiers:infoHash:peerId:port:totals:)``, and when
    /// there is no tracker to reach.
    private(set) var announcer: TrackerAnnouncer?
    /// True once the completion was handed to the announcer (or there was none to hand it to).
    private(set) var completionAnnounced = false

    init(transport: (any TrackerTransport)?) {
        self.transport = transport
    }

    /// The tiers of `tiers` an announcer can reach: URLs of a supported scheme, in tiers not left empty.
    static func reachableTiers(_ tiers: [[String]]) -> [[String]] {
        tiers.map { $0.filter(TrackerClient.supports) }.filter { !$0.isEmpty }
    }

    /// Makes the announcer of a run over the reachable ones of `tiers`, when there are some and a
    /// transport: it announces `peerId` and `port`, leaves out the peers that are us (our peer id, our
    /// port on a loopback address), and asks `totals` before each announce. Returns it, to be run beside
    /// the session. A torrent `completeAlready` (its data was all there at the start) never announces
    /// `completed` (BEP 3: none is sent if the file was complete when started; trackers would count a
    /// download that never happened).
    @discardableResult
    mutating func start(
        tiers: [[String]], infoHash: [UInt8], peerId: [UInt8], port: UInt16, completeAlready: Bool = false,
        totals: @escaping @Sendable () async -> TrackerAnnouncer.Totals
    ) -> TrackerAnnouncer? {
        if completeAlready { completionAnnounced = true }
        guard let transport else { return nil }
        let reachable = Self.reachableTiers(tiers)
        guard !reachable.isEmpty else { return nil }
        let identity = TrackerAnnouncer.Identity(infoHash: infoHash, peerId: peerId, port: port)
        let filter = TrackerPeerFilter(ownAddresses: TrackerPeerFilter.loopbackAddresses(port: port), ownPeerId: peerId)
        let announcer = TrackerAnnouncer(
            tiers: reachable, identity: identity, transport: transport, filter: filter, totals: totals)
        self.announcer = announcer
        return announcer
    }

    /// The announcer to tell that the download completed, the first time it is asked with `isComplete`;
    /// `nil` otherwise (and when there is no announcer).
    mutating func completionToAnnounce(isComplete: Bool) -> TrackerAnnouncer? {
        guard isComplete, !completionAnnounced else { return nil }
        completionAnnounced = true
        return announcer
    }
}
