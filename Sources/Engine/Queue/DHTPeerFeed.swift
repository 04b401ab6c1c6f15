import Synchronization

/// Feeds a torrent's work with the peers the DHT finds while it runs (``DHTTorrentSearch``), and
/// records in its history when the first ones came (`dht-peers`: how many, how long after the start).
package struct DHTPeerFeed: Sendable {
    let dht: DHTNodes
    let store: any QueueStore

    /// Searches for `infoHash` until cancelled, handing peers to `add` (a metadata fetch, which has a task
    /// of its own while it lasts).
    ///
    /// - Parameters:
    ///   - announcePort: our listen port, `0` when nothing listens (then nothing is announced).
    ///   - shortOfPeers: whether the work wants more peers now (see ``DHTTorrentSearch``).
    func run(
        torrentId: Int64, infoHash: [UInt8], announcePort: UInt16,
        shortOfPeers: @escaping @Sendable () async -> Bool,
        add: @escaping @Sendable ([PeerAddress]) async -> Void
    ) async {
        // Our own announce comes back from the nodes we announced to.
        await DHTTorrentSearch.run(
            dht, infoHash: infoHash, announcePort: announcePort == 0 ? nil : announcePort,
            excluding: TrackerPeerFilter.loopbackAddresses(port: announcePort), shortOfPeers: shortOfPeers,
            found: recordingFirst(torrentId: torrentId, add: add))
    }

    /// Searches for `infoHash` as a job of `scheduler` (a download or a seed, which holds no task between
    /// lookups: ``DHTScheduledSearch``) until stopped, once `goOn` said to; the rest as ``run``.
    func start(
        on scheduler: Scheduler, torrentId: Int64, infoHash: [UInt8], announcePort: UInt16,
        goOn: @escaping @Sendable () async -> Bool, shortOfPeers: @escaping @Sendable () async -> Bool,
        add: @escaping @Sendable ([PeerAddress]) async -> Void
    ) -> DHTScheduledSearch {
        DHTScheduledSearch.start(
            on: scheduler, dht, infoHash: infoHash, announcePort: announcePort == 0 ? nil : announcePort,
            excluding: TrackerPeerFilter.loopbackAddresses(port: announcePort), goOn: goOn,
            shortOfPeers: shortOfPeers, found: recordingFirst(torrentId: torrentId, add: add))
    }

    /// Hands peers to `add`, and records the first ones found in the torrent's history.
    private func recordingFirst(
        torrentId: Int64, add: @escaping @Sendable ([PeerAddress]) async -> Void
    ) -> @Sendable ([PeerAddress]) async -> Void {
        let started = ContinuousClock.now
        let recorded = Mutex(false)
        let store = self.store
        return { peers in
            await add(peers)
            let first = recorded.withLock { done in
                defer { done = true }
                return !done
            }
            guard first else { return }
            let detail =
                "\(peers.count) peer\(peers.count == 1 ? "" : "s") after \((ContinuousClock.now - started).secondsText)"
            try? store.recordEvent(torrentId: torrentId, .dhtPeers, detail: detail)
        }
    }
}
