import Engine
import Foundation
import Logging
import Store

/// Works the queue from the database: keeps up to N torrents downloading in queue order, starts the
/// next when one ends or stalls, rechecks torrents put in the `checking` state, and follows what the
/// CLI writes (new torrents, pause, remove, queue moves).
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
        /// No data for the stall timeout: it keeps trying but does not hold a download slot.
        var stalled = false
        /// Started as a seed, and not yet seen to have found its data whole or incomplete at start: a seed
        /// found incomplete is recorded as a download again (once per session).
        var seedCheckPending = false
    }

    let store: BtqStore
    private let configuration: SessionConfiguration
    let logger: Logger
    private let fixedMaxActive: Int?
    var active: [Int64: Active] = [:]
    private var stopping = false
    private let processRun: ProcessRun
    /// Full rechecks running (`btq verify` handed to the daemon), and those that ended.
    private var checks: [Int64: Task<Void, Never>] = [:]
    private var finishedChecks: [(Int64, Result<TorrentChecker.Result, any Error>)] = []
    private var finished: [(Int64, TorrentSession.Outcome)] = []

    /// The setting that caps simultaneous downloads when `--max-active` is not given.
    static let maxActiveSetting = "max_active_downloads"
    /// The setting: seconds without data after which a download stops holding an active slot.
    static let stallTimeoutSetting = "stall_timeout"

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
        maxPeersOverall: Int = 200, registry: SessionRegistry = SessionRegistry(), processRun: ProcessRun,
        logger: Logger
    ) {
        self.processRun = processRun
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
            processRun.heartbeat()
            do {
                try await reconcile(onChange: onChange)
            } catch {
                logger.error("queue: \(error)")
            }
            try? await Task.sleep(for: pollInterval)
        }
        await stopFetches()
        for entry in active.values { await entry.job.session.stop() }
        for check in checks.values { check.cancel() }
        for (id, entry) in active {
            _ = await entry.task.value
            var clock = entry.seedClock
            try? store.addSeedingSeconds(torrentId: id, clock.takeUnsaved())
            // Interrupted by the daemon's own stop: it goes on (downloading or seeding) at the next start.
            if let current = try? store.torrent(id: id), !current.isRemoved, current.state != .paused {
                try? store.setState(torrentId: id, .queued)
            }
        }
        for check in checks.values { await check.value }
        active = [:]
        await trackers.shutdown()
        processRun.end(clean: true)
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
        return max(1, intSetting(Self.maxActiveSetting) ?? 3)
    }

    private func intSetting(_ name: String) -> Int? {
        (try? store.setting(name)).flatMap { $0 }.flatMap(Int.init)
    }

    /// One pass: settle finished sessions and checks, stop what the user paused, removed or wants
    /// rechecked, note stalled downloads, start checks and what fits.
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
                // Complete, and stopped by the runner (seed limit, no seed slot) or by the user (a pause, a
                // removal, or `btq verify`: its check starts now and decides the state).
                if let current, current.isRemoved || current.state == .paused || current.state == .checking {
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
        try settleChecks(onChange: onChange)

        // Only what this pass needs is read: the torrents it works, those asking for a check, and the first
        // candidates in queue order (a pass costs the same with a hundred thousand torrents queued).
        let tracked = Set(active.keys).union(fetching.keys).union(checks.keys)
        let byId = Dictionary(
            uniqueKeysWithValues: try store.torrents(ids: tracked).filter { !$0.isRemoved }.map { ($0.id, $0) })
        for (id, entry) in active {
            let record = byId[id]
            if record == nil || record?.state == .paused || record?.state == .checking {
                Task { await entry.job.session.stop() }
            }
            entry.limits.apply(try store.rateLimits(torrentId: id))
        }
        stopFetchesNoLongerWanted(byId)
        try await followSeeding(onChange: onChange)
        trimSeeds(onChange: onChange)
        await updateStalls(onChange: onChange)
        for record in try store.torrents(in: .checking, limit: 64)
        where active[record.id] == nil && checks[record.id] == nil {
            startCheck(record, onChange: onChange)
        }
        var downloadSlots = maxActive() - active.values.filter { !$0.seeding && !$0.stalled }.count - fetching.count
        var seedSlots = settings.maxSeeds - active.values.filter(\.seeding).count
        // Candidates beyond those already working, with room to skip ones that cannot start now.
        let margin = tracked.count + 64
        let candidates =
            (try store.downloadCandidates(limit: max(0, downloadSlots) + margin)
            + (seedSlots > 0 ? try store.seedCandidates(limit: seedSlots + margin) : []))
            .sorted { $0.queuePosition < $1.queuePosition }
        for record in candidates where active[record.id] == nil {
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
                    onChange("completed #\(record.id) \(record.shownName): \(reached)")
                    continue
                }
            } else {
                guard downloadSlots > 0 else { continue }
            }
            do {
                let limits = limiters.limits(own: try store.rateLimits(torrentId: record.id))
                let job = try DownloadJob(
                    record: record, store: store, configuration: sessionConfiguration(), stopWhenComplete: false,
                    trackers: trackers, resumePolicy: processRun.policy, limits: limits, logger: logger)
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
                var entry = Active(job: job, task: task, limits: limits, seeding: isSeed, seedCheckPending: isSeed)
                if isSeed {
                    entry.seedClock.start()
                    seedSlots -= 1
                } else {
                    downloadSlots -= 1
                }
                active[id] = entry
                onChange("\(isSeed ? "seeding" : "started") #\(id) \(record.shownName)")
            } catch {
                try store.setState(torrentId: record.id, .error, error: "\(error)")
                onChange("error #\(record.id) \(record.shownName): \(error)")
            }
        }
    }

    /// Marks downloads that got no data for the stall timeout, so the next queued torrent gets their slot,
    /// and unmarks them when data flows again.
    private func updateStalls(onChange: @Sendable (String) -> Void) async {
        let timeout = Duration.seconds(intSetting(Self.stallTimeoutSetting) ?? 300)
        for (id, entry) in active where !entry.seeding {
            let status = await entry.job.session.status()
            let stalled = !status.isComplete && !status.isStarting && status.idleTime >= timeout
            guard let current = active[id], stalled != current.stalled else { continue }
            active[id]?.stalled = stalled
            let name = entry.job.record.name
            let detail =
                stalled
                ? "no data for \(timeout.components.seconds) s: it keeps looking for peers but no longer holds a download slot"
                : "data flows again after a stall"
            try? store.recordEvent(HistoryEvent(torrentId: id, kind: stalled ? .stalled : .state, detail: detail))
            onChange(stalled ? "stalled #\(id) \(name)" : "unstalled #\(id) \(name)")
        }
    }

    private func startCheck(_ record: TorrentRecord, onChange: @Sendable (String) -> Void) {
        let job: CheckJob
        do {
            job = try CheckJob(record: record, store: store)
        } catch {
            try? store.setState(torrentId: record.id, .error, error: "\(error)")
            onChange("error #\(record.id) \(record.shownName): \(error)")
            return
        }
        let id = record.id
        checks[id] = Task {
            let result: Result<TorrentChecker.Result, any Error>
            do {
                result = .success(try await job.run())
            } catch {
                result = .failure(error)
            }
            self.checkEnded(id, result)
        }
        onChange("checking #\(id) \(record.shownName)")
    }

    private func settleChecks(onChange: @Sendable (String) -> Void) throws {
        for (id, result) in finishedChecks {
            checks[id] = nil
            guard let record = try store.torrent(id: id), !record.isRemoved, record.state == .checking else { continue }
            switch result {
            case .success(let outcome):
                // Back where the user had it (read from the history: `btq verify` put it in `checking`).
                let before = try store.stateBeforeChecking(torrentId: id)
                try RecheckVerdict.record(outcome, of: record, before: before, in: store)
                onChange(CheckJob.summary(record, outcome))
            case .failure(let error):
                try store.setState(torrentId: id, .error, error: "recheck failed: \(error)")
                onChange("error #\(id) \(record.shownName): recheck failed: \(error)")
            }
        }
        finishedChecks = []
    }

    private func sessionEnded(_ id: Int64, _ outcome: TorrentSession.Outcome) {
        finished.append((id, outcome))
    }

    private func checkEnded(_ id: Int64, _ result: Result<TorrentChecker.Result, any Error>) {
        finishedChecks.append((id, result))
    }
}
