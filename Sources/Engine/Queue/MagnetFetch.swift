import Foundation
import Logging

/// Fetches the metadata of a magnet link's torrent from peers and stores it, so the torrent can be
/// downloaded like any other in the same run: state `metadata` meanwhile, then its files, pieces and
/// trackers in the queue and a `metadata` event saying from whom and how long it took.
package actor MagnetFetch: MetadataWork {
    /// The torrent with its metainfo, and the peers met while fetching (for its download).
    package struct Fetched: Sendable {
        package let record: TorrentRecord
        package let peers: [(address: PeerAddress, source: PeerUpdate.Source)]
    }

    package nonisolated let record: TorrentRecord
    private let store: any QueueStore & TorrentContentStore
    private let configuration: SessionConfiguration
    private let trackers: TrackerClient?
    private let manualPeers: [PeerAddress]
    /// Where it looks up peers beside its trackers (a magnet without trackers has only this).
    private let dht: DHTPeerFeed?
    private let logger: Logger
    private var fetcher: MetadataFetcher?
    private var stopRequested = false

    package init(
        record: TorrentRecord, store: any QueueStore & TorrentContentStore, configuration: SessionConfiguration,
        trackers: TrackerClient?,
        peers: [PeerAddress], dht: DHTPeerFeed? = nil, logger: Logger
    ) {
        self.dht = dht
        self.record = record
        self.store = store
        self.configuration = configuration
        self.trackers = trackers
        self.manualPeers = peers
        self.logger = logger
    }

    /// Ends ``run()`` soon with `nil`.
    package func stop() async {
        stopRequested = true
        await fetcher?.stop()
    }

    /// Progress, once fetching started.
    package func status() async -> MetadataFetcher.Status? {
        await fetcher?.status()
    }

    /// Fetches and stores the metadata; `nil` when stopped first.
    package func run() async -> Result<Fetched?, QueueError> {
        let magnet: MagnetLink
        let trackerURLs: [String]
        do {
            guard let uri = try store.magnetURI(torrentId: record.id) else {
                return .failure(QueueError("#\(record.id) \(record.name) has neither metainfo nor a magnet link"))
            }
            magnet = try MagnetLink(parsing: uri)
            trackerURLs = try store.trackerURLs(torrentId: record.id)
            try store.setState(torrentId: record.id, .fetchingMetadata)
        } catch {
            return .failure(QueueError("#\(record.id) \(record.name): \(error)"))
        }
        let fetcher = MetadataFetcher(
            infoHashes: magnet.infoHashes, trackers: trackerURLs, configuration: configuration, transport: trackers,
            logger: logger)
        await fetcher.addPeers(magnet.peers.compactMap(PeerAddress.init(parsing:)), source: .magnet)
        await fetcher.addPeers(manualPeers, source: .manual)
        self.fetcher = fetcher
        if stopRequested { await fetcher.stop() }
        let started = ContinuousClock.now
        // Tracker states go to the queue while fetching too, so `btq info` shows them.
        let store = self.store
        let id = record.id
        let saveTrackers: @Sendable () async -> Void = {
            let statuses = await fetcher.takeTrackerStatuses()
            guard !statuses.isEmpty else { return }
            try? store.saveTrackerStates(statuses.map { TrackerUpdate($0, torrentId: id) })
        }
        let saver = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await saveTrackers()
            }
        }
        let search = dht.map { dht in
            Task { [configuration] in
                let port = configuration.listenPort
                await dht.run(
                    torrentId: id, infoHash: magnet.infoHashes.wireHash, announcePort: port,
                    shortOfPeers: { await fetcher.status().peers < DHTTorrentSearch.wantedPeers }
                ) { peers in
                    await fetcher.addPeers(peers, source: .dht)
                }
            }
        }
        let outcome = await fetcher.run()
        search?.cancel()
        saver.cancel()
        await saveTrackers()
        guard case .fetched(let fetched) = outcome else { return .success(nil) }
        let metainfo: Metainfo
        do {
            metainfo = try Metainfo(
                fetchedInfo: fetched.infoBytes, trackers: magnet.trackers, webSeeds: magnet.webSeeds,
                pieceLayers: fetched.pieceLayers)
        } catch {
            return .failure(QueueError("the metadata from peers is not a valid torrent: \(error)"))
        }
        let from = fetched.sources.map(\.description).joined(separator: ", ")
        let updated: TorrentRecord
        do {
            try store.attachMetainfo(
                torrentId: record.id, metainfo, detail: "from \(from) in \((ContinuousClock.now - started).secondsText)"
            )
            guard let record = try store.torrent(id: record.id) else {
                return .failure(QueueError("#\(record.id) was removed while its metadata arrived"))
            }
            updated = record
        } catch {
            return .failure(QueueError("#\(record.id) \(record.name): cannot store its metadata: \(error)"))
        }
        // BEP 27: addresses learned through peer exchange are not used for a private torrent.
        let peers = fetched.peers.filter { !metainfo.isPrivate || $0.source != .pex }
        return .success(Fetched(record: updated, peers: peers))
    }
}

extension TorrentSession {
    /// Adds the peers a metadata fetch met, each with where it came from.
    package func addPeers(_ peers: [(address: PeerAddress, source: PeerUpdate.Source)]) {
        for (source, group) in Dictionary(grouping: peers, by: \.source) {
            addPeers(group.map(\.address), source: source)
        }
    }
}
