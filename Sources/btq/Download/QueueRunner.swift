import Engine
import Foundation
import Logging
import Store

/// Works the queue from the database: keeps up to N torrents downloading in queue order, starts the
/// next when one ends, and follows what the CLI writes (new torrents, pause, remove, queue moves).
actor QueueRunner {
    struct Active {
        let job: DownloadJob
        let task: Task<TorrentSession.Outcome, Never>
        let limits: TransferLimits
        /// Holds a seed slot (started complete, or finished its download and went on seeding).
        var seeding: Bool
        /// The state to record when the session ends because the runner stopped it.
        var endState: TorrentState?
        /// Seeding time counted and not yet saved.
        var seedClock = SeedClock()
    }

    let store: BtqStore
    private let configuration: SessionConfiguration
    let logger: Logger
    private let fixedMaxActive: Int?
    var active: [Int64: Active] = [:]
    private var stopping = false
    private var finished: [(Int64, TorrentSession.Outcome)] = []

    /// The setting that caps simultaneous downloads when `--max-active` is not given.
    static let maxActiveSetting = "max_active_downloads"

    let manualPeers: [PeerAddress]
    private let maxPeersOverall: Int
    let trackers = TrackerClient()
    private let registry: SessionRegistry
    private let limiters = RateLimiters()
    private(set) var settings = TransferSettings()
    /// Magnet links fetching their metadata (see `QueueRunner+Magnets.swift`); each holds a download slot.
    var fetching: [Int64: MagnetFetch] = [:]
    /// Fetches that ended and are not settled yet.
    var fetchesEnded: [(Int64, Result<MagnetFetch.Fetched?, UserError>)] = []
    /// Peers a finished fetch met, for the torrent's download.
    var fetchedPeers: [Int64: [(address: PeerAddress, source: PeerUpdate.Source)]] = [:]

    init(
        store: BtqStore, configuration: SessionConfiguration, maxActive: Int?, peers: [PeerAddress] = [],
        maxPeersOverall: Int = 200, registry: SessionRegistry = SessionRegistry(), logger: Logger
    ) {
        self.registry = registry
        self.maxPeersOverall = maxPeersOverall
        self.store = store
        self.manualPeers = peers
        self.configuration = configuration
        self.fixedMaxActive = maxActive
        self.logger = logger
    }

    /// Runs until ``stop()``; returns after every session saved its progress.
    func run(pollInterval: Duration = .milliseconds(500), onChange: @Sendable (String) -> Void) async {
        while !stopping {
            do {
                try await reconcile(onChange: onChange)
            } catch {
                logger.error("queue: \(error)")
            }
            try? await Task.sleep(for: pollInterval)
        }
        await stopFetches()
        for entry in active.values { await entry.job.session.stop() }
        for (id, entry) in active {
            _ = await entry.task.value
            var clock = entry.seedClock
            try? store.addSeedingSeconds(torrentId: id, clock.takeUnsaved())
            // Interrupted by the daemon's own stop: it goes on (downloading or seeding) at the next start.
            if let current = try? store.torrent(id: id), !current.isRemoved, current.state != .paused {
                try? store.setState(torrentId: id, .queued)
            }
        }
        active = [:]
        await trackers.shutdown()
    }

    func stop() { stopping = true }

    /// Each torrent's share of the overall connection limit (at most its own limit).
    func sessionConfiguration() -> SessionConfiguration {
        var configuration = self.configuration
        // Seeds are active torrents too: they share the overall limit with the downloads.
        let sharers = maxActive() + max(0, settings.maxSeeds)
        configuration.maxPeers = min(configuration.maxPeers, max(1, maxPeersOverall / sharers))
        return configuration
    }

    private func maxActive() -> Int {
        if let fixedMaxActive { return fixedMaxActive }
        let setting = (try? store.setting(Self.maxActiveSetting)).flatMap { $0 }.flatMap(Int.init) ?? 3
        return max(1, setting)
    }

    /// One pass: settle finished sessions, stop what the user paused or removed, start what fits.
    private func reconcile(onChange: @Sendable (String) -> Void) async throws {
        settings = TransferSettings(store: store)
        limiters.apply(settings)
        for (id, outcome) in finished {
            guard var entry = active.removeValue(forKey: id) else { continue }
            let name = entry.job.record.name
            let current = try store.torrent(id: id)
            try store.addSeedingSeconds(torrentId: id, entry.seedClock.takeUnsaved())
            switch outcome {
            case .completed:
                // Complete, and stopped by the runner (seed limit, no seed slot) or by the user.
                if let current, current.isRemoved || current.state == .paused {
                    onChange("stopped #\(id) \(name)")
                } else {
                    let state = entry.endState ?? .completed
                    try store.setState(torrentId: id, state)
                    onChange(state == .completed ? "completed #\(id) \(name)" : "\(state.rawValue) #\(id) \(name)")
                }
            case .failed(let reason):
                try store.setState(torrentId: id, .error, error: reason)
                onChange("error #\(id) \(name): \(reason)")
            case .stopped:
                // Stopped because the user paused or removed it: its state is already what they asked.
                if let current, !current.isRemoved, current.state == .downloading {
                    try store.setState(torrentId: id, .queued)
                }
                onChange("stopped #\(id) \(name)")
            }
        }
        finished = []
        try settleFetches(onChange: onChange)

        let records = try store.torrents()
        let ownLimits = try store.allRateLimits()
        let byId = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        for (id, entry) in active {
            let record = byId[id]
            if record == nil || record?.state == .paused {
                Task { await entry.job.session.stop() }
            }
            entry.limits.apply(ownLimits[id] ?? TorrentRateLimits())
        }
        stopFetchesNoLongerWanted(byId)
        try await followSeeding(onChange: onChange)
        trimSeeds(onChange: onChange)
        var downloadSlots = maxActive() - active.values.filter { !$0.seeding }.count - fetching.count
        var seedSlots = settings.maxSeeds - active.values.filter(\.seeding).count
        for record in records where active[record.id] == nil {
            guard [.queued, .downloading, .seeding, .fetchingMetadata].contains(record.state) else { continue }
            if record.isMagnet {
                // No metadata yet: fetch it first, in a download slot; the download starts when it is stored.
                guard downloadSlots > 0, fetching[record.id] == nil else { continue }
                startFetch(record, onChange: onChange)
                downloadSlots -= 1
                continue
            }
            // Finished before (and not taken back to downloading by new wanted files): a seed.
            let isSeed = record.state == .seeding || record.completedAt != nil
            if isSeed {
                guard seedSlots > 0 else { continue }
                if let reached = try seedLimitReached(record, uploaded: record.uploaded, downloaded: record.downloaded)
                {
                    try store.recordEvent(torrentId: record.id, .seedLimit, detail: reached)
                    try store.setState(torrentId: record.id, .completed)
                    onChange("completed #\(record.id) \(record.name): \(reached)")
                    continue
                }
            } else {
                guard downloadSlots > 0 else { continue }
            }
            do {
                let limits = limiters.limits(own: ownLimits[record.id] ?? TorrentRateLimits())
                let job = try DownloadJob(
                    record: record, store: store, configuration: sessionConfiguration(), stopWhenComplete: false,
                    trackers: trackers, limits: limits, logger: logger)
                try store.setState(torrentId: record.id, isSeed ? .seeding : .downloading)
                let id = record.id
                let peers = manualPeers
                let metPeers = fetchedPeers.removeValue(forKey: id) ?? []
                let registry = self.registry
                let task = Task {
                    await job.session.addPeers(peers, source: .manual)
                    await job.session.addPeers(metPeers)
                    registry.add(job.session)
                    let outcome = await job.session.run()
                    registry.remove(job.session)
                    await job.storage.close()
                    self.sessionEnded(id, outcome)
                    return outcome
                }
                var entry = Active(job: job, task: task, limits: limits, seeding: isSeed)
                if isSeed {
                    entry.seedClock.start()
                    seedSlots -= 1
                } else {
                    downloadSlots -= 1
                }
                active[id] = entry
                onChange("\(isSeed ? "seeding" : "started") #\(id) \(record.name)")
            } catch {
                try store.setState(torrentId: record.id, .error, error: "\(error)")
                onChange("error #\(record.id) \(record.name): \(error)")
            }
        }
    }

    private func sessionEnded(_ id: Int64, _ outcome: TorrentSession.Outcome) {
        finished.append((id, outcome))
    }
}
