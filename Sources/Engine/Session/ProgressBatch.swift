/// Everything to persist at one flush (every ~100 ms), written in one transaction so that a crash
/// leaves either all of it or none of it (DESIGN.md, persistence invariant 2).
///
/// Only what changed goes in: the engine keeps bitfields and block masks in memory and sends deltas.
package struct ProgressBatch: Hashable, Sendable {
    /// Per-torrent changes (at most one entry per torrent; later entries for the same torrent apply after
    /// earlier ones).
    package var torrents: [TorrentProgress]
    /// Peer history updates.
    package var peers: [PeerUpdate]
    /// Tracker states.
    package var trackers: [TrackerUpdate]
    /// History entries.
    package var events: [HistoryEvent]

    /// Creates a batch.
    package init(
        torrents: [TorrentProgress] = [], peers: [PeerUpdate] = [], trackers: [TrackerUpdate] = [],
        events: [HistoryEvent] = []
    ) {
        self.torrents = torrents
        self.peers = peers
        self.trackers = trackers
        self.events = events
    }

    /// True when there is nothing to write.
    package var isEmpty: Bool {
        torrents.allSatisfy(\.isEmpty) && peers.isEmpty && trackers.isEmpty && events.isEmpty
    }
}
