/// The engine's port to persistent storage of progress, history and swarm knowledge.
///
/// Engine never imports SQL: `Store` implements this over SQLite, and tests can implement it in memory.
/// Every method is synchronous and may block on disk I/O or on another process's lock: a session calls it
/// only through its ``ResumeWriter``, never on its actor. Every method is atomic: it writes all of its
/// changes or none.
package protocol ResumeStore: Sendable {
    /// The recorded progress of a torrent, or `nil` when there is no such torrent (or it was removed).
    func resumeState(torrentId: Int64) throws -> ResumeState?

    /// Writes one flush worth of changes in a single transaction: changed verified bits (a verified piece
    /// loses its block mask), changed block masks, counter deltas, peer and tracker updates, events.
    /// Torrents that no longer exist (purged meanwhile) are skipped.
    func saveProgress(_ batch: ProgressBatch) throws

    /// Which database this store writes to, when the batches of stores of the same group may share one
    /// transaction (``saveProgress(together:)``); `nil` when each batch is written alone.
    var commitGroup: ObjectIdentifier? { get }

    /// Writes the batches of stores of this store's ``commitGroup`` in one transaction (a group commit),
    /// each as ``saveProgress(_:)`` of its own store would alone: a batch that throws is dropped by itself
    /// and its error is its outcome. Returns one outcome per batch, in order (`nil` for written); throws,
    /// having written nothing, when the transaction fails as a whole.
    func saveProgress(together saves: [(store: any ResumeStore, batch: ProgressBatch)]) throws -> [(any Error)?]

    /// Records progress as durable, in one transaction: each checkpoint's verified pieces and block masks
    /// become the torrent's durable copies. Call it only after the data files holding that progress were
    /// synced (DESIGN.md, invariant 3); the snapshot is what was journaled before the sync started, so
    /// progress journaled during the sync is not made durable by mistake.
    func commitCheckpoint(_ checkpoints: [DurableCheckpoint], at time: Timestamp) throws

    /// Records the size and modification time of files after writing to them (or after a check).
    func recordFileStats(torrentId: Int64, _ stats: [FileStat]) throws

    /// Changes a torrent's state, recording a history event for the transition. `error` is stored as the
    /// torrent's last error (`nil` clears it).
    func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws

    /// Appends entries to the history.
    func recordEvents(_ events: [HistoryEvent]) throws

    /// Stores the metadata a magnet link's torrent fetched from peers (BEP 9): its metainfo, files and
    /// trackers, with a `metadata` event. Its info-hashes must match the torrent's.
    func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo) throws
}

extension ResumeStore {
    /// A store that writes each batch alone.
    package var commitGroup: ObjectIdentifier? { nil }

    /// Each batch alone, with its own store.
    package func saveProgress(
        together saves: [(store: any ResumeStore, batch: ProgressBatch)]
    ) throws -> [(any Error)?] {
        Self.saveEachAlone(saves)
    }

    /// Writes each batch with its own store's ``saveProgress(_:)``; returns each one's error, or `nil`.
    package static func saveEachAlone(_ saves: [(store: any ResumeStore, batch: ProgressBatch)]) -> [(any Error)?] {
        saves.map { save in
            do {
                try save.store.saveProgress(save.batch)
                return nil
            } catch {
                return error
            }
        }
    }

    /// Merges peer observations into the peer history (a batch with only peers).
    package func upsertPeers(_ peers: [PeerUpdate]) throws {
        try saveProgress(ProgressBatch(peers: peers))
    }

    /// Records tracker states (a batch with only trackers).
    package func saveTrackerStates(_ trackers: [TrackerUpdate]) throws {
        try saveProgress(ProgressBatch(trackers: trackers))
    }

    /// Appends one history entry.
    package func recordEvent(_ event: HistoryEvent) throws {
        try recordEvents([event])
    }
}
