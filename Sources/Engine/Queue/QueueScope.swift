/// What a ``QueueManager`` works: the whole queue, as `btq run` does, or a few named torrents at
/// once until each has ended, as `btq get` does. Both go through the same decisions (slots, magnet
/// fetches, seeding and its limits, how an ending is recorded); a scope only narrows them.
package struct QueueScope: Sendable {
    /// The torrents worked, all at once; `nil` for the whole queue in order, within the slots.
    package let only: Set<Int64>?
    /// Whether finished downloads go on seeding (within the seed limits; for the whole queue also
    /// within `max_active_seeds`). A scoped download that does not seed ends as soon as it is verified.
    package let seeds: Bool
    /// The state of a torrent stopped before it was done: `queued` in the daemon (it goes on at the
    /// next start), `paused` for `btq get` (it waits for the user, not for a daemon).
    package let stoppedState: TorrentState
    /// Called before a torrent's download starts (after its metadata arrived, for a magnet link):
    /// `btq get --only` sets the file priorities there.
    package let beforeDownload: (@Sendable (TorrentRecord) throws -> Void)?

    /// The whole queue, as the daemon works it.
    package static let queue = QueueScope(only: nil, seeds: true, stoppedState: .queued, beforeDownload: nil)

    /// The torrents `ids` at once, seeding after their download when `seeding`; the manager's run
    /// ends when each has ended.
    package static func only(
        _ ids: Set<Int64>, seeding: Bool, beforeDownload: (@Sendable (TorrentRecord) throws -> Void)? = nil
    ) -> QueueScope {
        QueueScope(only: ids, seeds: seeding, stoppedState: .paused, beforeDownload: beforeDownload)
    }

    /// Whether `id` is worked.
    func contains(_ id: Int64) -> Bool { only?.contains(id) ?? true }

    /// Whether `record` starts as a seed: it finished before (and was not taken back to downloading by
    /// new wanted files), and seeds are wanted (else its download finds the data complete and ends at
    /// once).
    func startsAsSeed(_ record: TorrentRecord) -> Bool {
        seeds && (record.state == .seeding || record.completedAt != nil)
    }

    /// The torrents a pass may start, in queue order: the scope's, or the first of the queue in `store`
    /// beyond the `tracked` ones already worked, with room to skip ones that cannot start now.
    /// With `aheadSlots`, the first torrents that may be checked ahead of their slot are among them (past
    /// torrents checked already, however many wait).
    func candidates(
        in store: any QueueStore, downloadSlots: Int, seedSlots: Int, aheadSlots: Int = 0, tracked: Set<Int64>
    ) throws
        -> [TorrentRecord]
    {
        if let only {
            return try store.torrents(ids: only).filter { !$0.isRemoved }.sorted { $0.queuePosition < $1.queuePosition }
        }
        // Past the torrents worked already (read as ids only, however many), with room to skip some.
        let margin = 64
        var found = try store.downloadCandidates(limit: max(0, downloadSlots) + margin, excluding: tracked)
        if aheadSlots > 0 {
            let listed = Set(found.map(\.id))
            found += try store.checkAheadCandidates(limit: aheadSlots + margin, excluding: tracked).filter {
                !listed.contains($0.id)
            }
        }
        if seedSlots > 0 { found += try store.seedCandidates(limit: seedSlots + margin, excluding: tracked) }
        return found.sorted { $0.queuePosition < $1.queuePosition }
    }
}

/// How a torrent's work in a scoped run ended (see ``QueueManager/endings``), for the command that
/// asked for it to report.
package enum QueueEnding: Sendable {
    /// Its session ended so, with this last status.
    case session(TorrentSession.Outcome, TorrentStatus)
    /// Its metadata fetch was stopped before the metadata arrived.
    case fetchStopped
    /// Its metadata fetch, or the start of its download, failed for this reason.
    case failed(String)
}

/// What a torrent of a scoped run is doing now (see ``QueueManager/progress()``).
package enum QueueProgress: Sendable {
    /// Fetching its metadata (no status before the fetch has started).
    case fetching(MetadataFetcher.Status?)
    /// Downloading or seeding.
    case transferring(TorrentStatus)
}
