import Foundation

/// Magnet links in the daemon: a queued magnet without metadata first fetches it from peers (holding
/// a download slot, state `metadata`); once stored, the next pass starts its download like any other.
extension QueueManager {
    /// Starts fetching the metadata of `record`.
    func startFetch(_ record: TorrentRecord, onChange: @Sendable (String) -> Void) {
        let fetch = workers.fetchMetadata(record, configuration: sessionConfiguration(), peers: manualPeers)
        let id = record.id
        jobs.start(QueueJobs.Fetching(record: record, work: fetch)) {
            await self.fetchEnded(id, await fetch.run())
        }
        onChange("fetching metadata #\(id) \(record.name)")
    }

    private func fetchEnded(_ id: Int64, _ result: Result<MagnetFetch.Fetched?, QueueError>) {
        jobs.fetchEnded(id, result)
        passNow()
    }

    /// Records how ended fetches went; a fetched torrent keeps its state until its download starts.
    func settleFetches(onChange: @Sendable (String) -> Void) throws {
        while let ended = jobs.takeEndedFetch() {
            let id = ended.fetch.record.id
            let name = ended.fetch.record.name
            switch ended.result {
            case .success(let fetched?):
                // Its peers wait for its download.
                onChange("metadata #\(id) \(fetched.record.name): \(fetched.record.fileCount) files")
            case .success(nil):
                // Stopped because the user paused or removed it, or the process stops.
                if scope.only != nil { noteEnding(id, .fetchStopped) }
                if let current = try store.torrent(id: id), !current.isRemoved, current.state == .fetchingMetadata,
                    current.addedAt == ended.fetch.record.addedAt
                {
                    try store.setState(torrentId: id, scope.stoppedState)
                }
                onChange("stopped #\(id) \(name)")
            case .failure(let error):
                if scope.only != nil { noteEnding(id, .failed(error.message)) }
                // Not into a row removed and added again since the fetch started (it is the new torrent's).
                if let current = try store.torrent(id: id), current.addedAt == ended.fetch.record.addedAt {
                    try store.setState(torrentId: id, .error, error: error.message)
                }
                onChange("error #\(id) \(name): \(error.message)")
            }
        }
    }

    /// Stops the fetches of torrents that were paused or removed.
    func stopFetchesNoLongerWanted(gone: Set<Int64>, changed: [Int64: TorrentRecord]) {
        for fetch in jobs.fetchesNoLongerWanted(gone: gone, changed: changed) {
            Task { await fetch.work.stop() }
        }
    }

    /// Stops every fetch and waits for it to end (the daemon stops); they go on at the next start.
    func stopFetches() async {
        for fetch in jobs.fetching.values { await fetch.work.stop() }
        while !jobs.fetching.isEmpty {
            try? settleFetches(onChange: { _ in })
            if !jobs.fetching.isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
