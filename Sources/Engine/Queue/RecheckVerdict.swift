/// Where a torrent goes after a full recheck (`btq verify`, run here or by the daemon): the user's intent
/// stays. A paused torrent stays paused; one the seed limits had made `completed` stays completed; any
/// other complete torrent becomes a seed (queued for a seed slot: `btq run` seeds it as it seeds a
/// finished download, within the seed limits); an incomplete one goes back to the download queue. Only
/// the seed limits make a torrent `completed`.
package enum RecheckVerdict {
    /// The state after a check that found the wanted data complete or not, from the state before it
    /// (`nil`: unknown, as for a torrent in the queue).
    package static func nextState(before: TorrentState?, isComplete: Bool) -> TorrentState {
        if before == .paused { return .paused }
        guard isComplete else { return .queued }
        return before == .completed ? .completed : .queued
    }

    /// Records `result` for `record` in `store` (whether it is a seed, and its next state); returns that
    /// state.
    @discardableResult
    package static func record(
        _ result: TorrentChecker.Result, of record: TorrentRecord, before: TorrentState?, in store: any QueueStore
    ) throws -> TorrentState {
        if result.isComplete {
            try store.markComplete(torrentId: record.id)
        } else {
            try store.markIncomplete(torrentId: record.id)
        }
        let next = nextState(before: before, isComplete: result.isComplete)
        try store.setState(torrentId: record.id, next)
        return next
    }
}
