import Logging

/// A torrent's download (and then seeding) as the queue manager drives it: a ``TorrentSession`` over
/// its files, or a stand-in in the queue manager's tests.
package protocol DownloadWork: Sendable {
    /// Adds peers to try, each with where it came from.
    func addPeers(_ peers: [(address: PeerAddress, source: PeerUpdate.Source)]) async
    /// Works the torrent until it completes (when told to stop then), fails or is stopped.
    func run() async -> TorrentSession.Outcome
    /// Starts working the torrent as ``run()`` does and returns once the work is under way; `onEnd` hears
    /// how it ended. The work holds no task of the caller's while it goes on.
    func start(onEnd: @escaping TorrentSession.Ending) async
    /// A snapshot of its progress.
    func status() async -> TorrentStatus
    /// Returns once ``run()`` has checked what is already done, or has ended.
    func started() async
    /// Lets a download started ahead of its slot (``SessionConfiguration/holdsAfterStartCheck``) go on past
    /// its start check.
    func goOn() async
    /// Ends ``run()`` soon, saving progress.
    func stop() async
    /// Saves what is unsaved now (a download that just completed).
    func saveProgressNow() async
    /// Its connected peers with their rates now.
    func livePeers() async -> [LivePeer]
    /// Starts new pieces in `order` from now on.
    func setDownloadOrder(_ order: DownloadOrder) async
    /// Reads the torrent's file priorities again (they changed) and follows them from now on.
    func reloadFilePriorities() async throws
}

extension DownloadWork {
    /// Stand-ins work in the caller's task.
    package func start(onEnd: @escaping TorrentSession.Ending) async {
        await onEnd(await run())
    }
    /// Stand-ins have no peers.
    package func livePeers() async -> [LivePeer] { [] }
    /// Stand-ins ignore the order.
    package func setDownloadOrder(_ order: DownloadOrder) async {}
    /// Stand-ins have no files.
    package func reloadFilePriorities() async throws {}
    /// Stand-ins have nothing to check.
    package func started() async {}
    /// Stand-ins are not held after their start check.
    package func goOn() async {}
}

/// The fetch of a magnet link's metadata from peers (``MagnetFetch``, or a stand-in).
package protocol MetadataWork: Sendable {
    /// Fetches and stores the metadata; `nil` when stopped first.
    func run() async -> Result<MagnetFetch.Fetched?, QueueError>
    /// Ends ``run()`` soon with `nil`.
    func stop() async
    /// How the fetch goes, once it has started.
    func status() async -> MetadataFetcher.Status?
}

/// A full recheck of a torrent's data (``CheckJob``, or a stand-in).
package protocol CheckWork: Sendable {
    /// Checks every piece and closes the files.
    func run() async throws -> TorrentChecker.Result
}

/// Makes the work the queue manager starts: the seam between its decisions (which torrent, when) and
/// the engine's sessions, fetches and checks.
package protocol QueueWorkers: Sendable {
    /// The download (or seeding) of a torrent with metainfo; with `stopWhenComplete` its run ends as
    /// soon as every wanted piece is verified, else it goes on (seeding) until stopped.
    func download(
        _ record: TorrentRecord, configuration: SessionConfiguration, limits: TransferLimits,
        resumePolicy: ResumePolicy, stopWhenComplete: Bool
    ) throws -> any DownloadWork
    /// The metadata fetch of a magnet link's torrent, from `peers` too.
    func fetchMetadata(
        _ record: TorrentRecord, configuration: SessionConfiguration, peers: [PeerAddress]
    )
        -> any MetadataWork
    /// A full recheck.
    func check(_ record: TorrentRecord) throws -> any CheckWork
}

/// The real workers: sessions over the files, reading and recording through `store`, announcing
/// through one tracker client, and registered for incoming peers while they run.
package struct StoreWorkers: QueueWorkers {
    let store: any QueueStore & TorrentContentStore
    let trackers: TrackerClient
    let registry: SessionRegistry
    /// The process's DHT, when it runs one: torrents that are not private look up their peers and
    /// announce themselves there.
    let dht: DHTNodes?
    let logger: Logger

    /// Workers over `store`.
    package init(
        store: any QueueStore & TorrentContentStore, trackers: TrackerClient, registry: SessionRegistry,
        dht: DHTNodes? = nil, logger: Logger
    ) {
        self.store = store
        self.trackers = trackers
        self.registry = registry
        self.dht = dht
        self.logger = logger
    }

    package func download(
        _ record: TorrentRecord, configuration: SessionConfiguration, limits: TransferLimits,
        resumePolicy: ResumePolicy, stopWhenComplete: Bool
    ) throws -> any DownloadWork {
        let store = store.pinned(to: record)
        let job = try DownloadJob(
            record: record, store: store, configuration: configuration, stopWhenComplete: stopWhenComplete,
            trackers: trackers,
            resumePolicy: resumePolicy, limits: limits, logger: logger)
        // BEP 27: a private torrent finds peers through its trackers only.
        let feed = job.metainfo.isPrivate ? nil : dht.map { DHTPeerFeed(dht: $0, store: store) }
        return RegisteredDownload(
            job: job, registry: registry, dht: feed, announcePort: configuration.listenPort, store: store)
    }

    package func fetchMetadata(
        _ record: TorrentRecord, configuration: SessionConfiguration, peers: [PeerAddress]
    )
        -> any MetadataWork
    {
        let store = store.pinned(to: record)
        return MagnetFetch(
            record: record, store: store, configuration: configuration, trackers: trackers, peers: peers,
            dht: dht.map { DHTPeerFeed(dht: $0, store: store) }, logger: logger)
    }

    package func check(_ record: TorrentRecord) throws -> any CheckWork {
        try CheckJob(record: record, store: store.pinned(to: record))
    }
}

/// A download job whose session accepts incoming peers while it runs and whose files close after.
struct RegisteredDownload: DownloadWork {
    let job: DownloadJob
    let registry: SessionRegistry
    /// Where it looks up peers beside its trackers while it runs.
    let dht: DHTPeerFeed?
    /// Our listen port (0: none), announced to the DHT.
    let announcePort: UInt16
    /// Where its file priorities are read again when they change.
    let store: any TorrentContentStore

    func addPeers(_ peers: [(address: PeerAddress, source: PeerUpdate.Source)]) async {
        await job.session.addPeers(peers)
    }

    func started() async {
        await job.session.started()
    }

    func goOn() async {
        await job.session.goOn()
    }

    /// ``start(onEnd:)``, waited for; cancelling the caller's task stops the session.
    func run() async -> TorrentSession.Outcome {
        await RunEnding.waitForRun(start: { await start(onEnd: $0) }, stop: { await job.session.stop() })
    }

    /// Registers the session (incoming peers find it), starts it and, beside it, its DHT search (a job of
    /// the session's scheduler: no task between lookups); once it ended, the search stops and its files
    /// close before `onEnd` hears of it.
    func start(onEnd: @escaping TorrentSession.Ending) async {
        registry.add(job.session)
        let (session, registry, storage) = (job.session, registry, job.storage)
        // Held after its start check, it looks for peers only once it goes on.
        let search = dht.map { dht in
            dht.start(
                on: session.rests.scheduler, torrentId: job.record.id, infoHash: job.metainfo.infoHashes.wireHash,
                announcePort: announcePort, goOn: { await session.worksPastStartCheck() },
                shortOfPeers: {
                    let status = await session.status()
                    return !status.isComplete && status.peers < DHTTorrentSearch.wantedPeers
                }
            ) { peers in
                await session.addPeers(peers, source: .dht)
            }
        }
        await session.start { outcome in
            await search?.stop()
            registry.remove(session)
            await storage.close()
            await onEnd(outcome)
        }
    }

    func status() async -> TorrentStatus { await job.session.status() }
    func stop() async { await job.session.stop() }
    func saveProgressNow() async { await job.session.saveProgressNow() }
    func livePeers() async -> [LivePeer] { await job.session.livePeers() }
    func setDownloadOrder(_ order: DownloadOrder) async { await job.session.setDownloadOrder(order) }

    func reloadFilePriorities() async throws {
        let priorities = try store.filePriorities(torrentId: job.record.id, count: job.metainfo.files.count).map {
            PiecePriority(UInt8(clamping: $0))
        }
        await job.session.setFilePriorities(priorities)
    }
}
