/// One announce the ``AnnounceStateMachine`` wants sent: to which tracker, with which event and
/// parameters. The driver adds the torrent's identity and byte counts with
/// ``request(infoHash:peerId:port:uploaded:downloaded:left:)``, sends it, and reports the outcome with
/// ``AnnounceStateMachine/record(_:for:now:)``.
public struct AnnounceJob: Sendable, Hashable, Identifiable {
    /// Distinguishes jobs of one state machine; a result for a job it no longer waits for is ignored.
    public let id: UInt64
    /// The tracker's announce URL.
    public let url: String
    /// Its tier (0 first).
    public let tier: Int
    /// The event to report.
    public let event: AnnounceEvent
    /// Peers wanted (0 for `stopped`).
    public let numWant: Int
    /// The session's key.
    public let key: UInt32
    /// The `tracker id` this tracker gave us, echoed back.
    public let trackerId: String?
    /// True when a success tells the tracker about the completed download (a `completed` event, or a
    /// first `started` sent after completion with nothing left).
    let reportsCompletion: Bool

    init(
        id: UInt64, url: String, tier: Int, event: AnnounceEvent, numWant: Int, key: UInt32, trackerId: String?,
        reportsCompletion: Bool
    ) {
        self.id = id
        self.url = url
        self.tier = tier
        self.event = event
        self.numWant = numWant
        self.key = key
        self.trackerId = trackerId
        self.reportsCompletion = reportsCompletion
    }

    /// The complete announce for this job.
    public func request(
        infoHash: [UInt8], peerId: [UInt8], port: UInt16, uploaded: Int64, downloaded: Int64, left: Int64
    ) -> AnnounceRequest {
        AnnounceRequest(
            infoHash: infoHash, peerId: peerId, port: port, uploaded: uploaded, downloaded: downloaded, left: left,
            event: event, numWant: numWant, key: key, trackerId: trackerId)
    }
}
