/// Everything to persist at one flush (every ~100 ms), written in one transaction so that a crash
/// leaves either all of it or none of it (DESIGN.md, persistence invariant 2).
///
/// Only what changed goes in: the engine keeps bitfields and block masks in memory and sends deltas.
public struct ProgressBatch: Hashable, Sendable {
    /// Per-torrent changes (at most one entry per torrent; later entries for the same torrent apply after
    /// earlier ones).
    public var torrents: [TorrentProgress]
    /// Peer history updates.
    public var peers: [PeerUpdate]
    /// Tracker states.
    public var trackers: [TrackerUpdate]
    /// History entries.
    public var events: [HistoryEvent]

    /// Creates a batch.
    public init(
        torrents: [TorrentProgress] = [], peers: [PeerUpdate] = [], trackers: [TrackerUpdate] = [],
        events: [HistoryEvent] = []
    ) {
        self.torrents = torrents
        self.peers = peers
        self.trackers = trackers
        self.events = events
    }

    /// True when there is nothing to write.
    public var isEmpty: Bool {
        torrents.allSatisfy(\.isEmpty) && peers.isEmpty && trackers.isEmpty && events.isEmpty
    }
}
