import Foundation

/// Magnet links in the daemon: a queued magnet without metadata first fetches it from peers (holding
/// a download slot, state `metadata`); once stored, the next pass starts its download like any other.
extension QueueManager {
    /// A magnet link's metadata fetch in progress.
    struct Fetching {
        let record: TorrentRecord
        let work: any MetadataWork
    }

    /// Starts fetching the metadata of `record`.
    func startFetch(_ record: TorrentRecord, onChange: @Sendable (String) -> Void) {
        let fetch = workers.fetchMetadata(record, configuration: sessionConfiguration(), peers: manualPeers)
        fetching[record.id] = Fetching(record: record, work: fetch)
        let id = record.id
        starting.append {
            await self.fetchEnded(id, await fetch.run())
        }
        onChange("fetching metadata #\(id) \(record.name)")
    }

    private func fetchEnded(_ id: Int64, _ result: Result<MagnetFetch.Fetched?, QueueError>) {
        fetchesEnded.append((id, result))
        passNow()
    }

    /// Records how ended fetches went; a fetched torrent keeps its state until its download starts.
    func settleFetches(onChange: @Sendable (String) -> Void) throws {
        for (id, result) in fetchesEnded {
            guard let fetch = fetching.removeValue(forKey: id) else { continue }
            let name = fetch.record.name
            switch result {
            case .success(let fetched?):
                fetchedPeers[id] = fetched.peers
                onChange("metadata #\(id) \(fetched.record.name): \(fetched.record.fileCount) files")
            case .success(nil):
                // Stopped because the user paused or removed it, or the process stops.
                if scope.only != nil { noteEnding(id, .fetchStopped) }
                if let current = try store.torrent(id: id), !current.isRemoved, current.state == .fetchingMetadata {
                    try store.setState(torrentId: id, scope.stoppedState)
                }
                onChange("stopped #\(id) \(name)")
            case .failure(let error):
                if scope.only != nil { noteEnding(id, .failed(error.message)) }
                try store.setState(torrentId: id, .error, error: error.message)
                onChange("error #\(id) \(name): \(error.message)")
            }
        }
        fetchesEnded = []
    }

    /// Stops the fetches of torrents that were paused or removed.
    func stopFetchesNoLongerWanted(_ records: [Int64: TorrentRecord]) {
        for (id, fetch) in fetching where records[id] == nil || records[id]?.state == .paused {
            Task { await fetch.work.stop() }
        }
    }

    /// Stops every fetch and waits for it to end (the daemon stops); they go on at the next start.
    func stopFetches() async {
        for fetch in fetching.values { await fetch.work.stop() }
        while !fetching.isEmpty {
            try? settleFetches(onChange: { _ in })
            if !fetching.isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
