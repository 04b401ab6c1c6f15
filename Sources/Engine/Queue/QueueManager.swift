import Foundation
import Logging

/// Works the queue from the database: keeps up to N torrents downloading in queue order, starts the
/// next when one ends or stalls, seeds finished ones within the seed slots and limits, fetches the
/// metadata of magnet links, rechecks torrents put in the `checking` state, and follows what the CLI
/// writes (new torrents, pause, remove, queue moves, settings).
///
/// It decides; ``QueueWorkers`` does the work (sessions, fetches, checks) and ``QueueStore`` keeps the
/// queue, so it runs in its tests over an in-memory queue with stand-in workers.
package actor QueueManager {
    struct Active {
        let record: TorrentRecord
        let work: any DownloadWork
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

    let store: any QueueStore
    let workers: any QueueWorkers
    private let configuration: SessionConfiguration
    let logger: Logger
    private let fixedMaxActive: Int?
    var active: [Int64: Active] = [:]
    private var stopping = false
    private let processRun: ProcessRun
    /// Work started by the last pass, for ``run(pollInterval:onChange:)`` to add to its task group.
    var starting: [@Sendable () async -> Void] = []
    /// Full rechecks running (`btq verify` handed to the daemon), and those that ended (see
    /// `QueueManager+Checks.swift`).
    var checks: Set<Int64> = []
    var finishedChecks: [(Int64, Result<TorrentChecker.Result, any Error>)] = []
    private var finished: [(id: Int64, outcome: TorrentSession.Outcome, status: TorrentStatus)] = []
    /// What it works: the whole queue, or named torrents until each has ended.
    let scope: QueueScope
    /// How each torrent of a scoped run ended, for the command that asked to report.
    package private(set) var endings: [Int64: QueueEnding] = [:]
    /// Asks ``run(pollInterval:onChange:)`` for a pass now (work ended, or a stop), not at the next poll.
    private var wake: AsyncStream<Void>.Continuation?

    /// The setting that caps simultaneous downloads when `--max-active` is not given.
    package static let maxActiveSetting = "max_active_downloads"
    /// The setting: seconds without data after which a download stops holding an active slot.
    package static let stallTimeoutSetting = "stall_timeout"

    let manualPeers: [PeerAddress]
    private let maxPeersOverall: Int
    private let limiters = RateLimiters()
    private(set) var settings = TransferSettings()
    /// Magnet links fetching their metadata (see `QueueManager+Magnets.swift`); each holds a download slot.
    var fetching: [Int64: Fetching] = [:]
    /// Fetches that ended and are not settled yet.
    var fetchesEnded: [(Int64, Result<MagnetFetch.Fetched?, QueueError>)] = []
    /// Peers a finished fetch met, for the torrent's download.
    var fetchedPeers: [Int64: [(address: PeerAddress, source: PeerUpdate.Source)]] = [:]

    /// A manager of the queue in `store` (or of the part `scope` names), starting work with `workers`;
    /// `maxActive` overrides the setting, `peers` are tried by every torrent, `maxPeersOverall` is shared
    /// among the active ones.
    package init(
        store: any QueueStore, workers: any QueueWorkers, configuration: SessionConfiguration, maxActive: Int?,
        scope: QueueScope = .queue, peers: [PeerAddress] = [], maxPeersOverall: Int = 200, processRun: ProcessRun,
        logger: Logger
    ) {
        self.scope = scope
        self.processRun = processRun
        self.workers = workers
        self.maxPeersOverall = maxPeersOverall
        self.store = store
        self.manualPeers = peers
        self.configuration = configuration
        self.fixedMaxActive = maxActive
        self.logger = logger
    }

    /// Runs until ``stop()``, or for a scoped run until each of its torrents has ended; returns after
    /// every session saved its progress.
    ///
    /// A pass runs every `pollInterval` (what the CLI writes is seen then), and at once when work ends.
    /// Every session, fetch and check it starts is a child of its task group: none outlives it.
    package func run(pollInterval: Duration = .milliseconds(500), onChange: @Sendable (String) -> Void) async {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.wake = wake
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pollInterval)
                    wake.yield()
                }
            }
            var passes = wakes.makeAsyncIterator()
            while !stopping {
                processRun.heartbeat()
                do {
                    try await reconcile(onChange: onChange)
                } catch {
                    logger.error("queue: \(error)")
                }
                let started = !starting.isEmpty
                for work in starting { group.addTask(operation: work) }
                starting = []
                if scope.only != nil, !started, active.isEmpty, fetching.isEmpty, checks.isEmpty { break }
                _ = await passes.next(isolation: self)
            }
            // Sessions and fetches stop and save their progress; checks are cancelled once they have.
            for entry in active.values { await entry.work.stop() }
            await stopFetches()
            while !Set(finished.map(\.id)).isSuperset(of: active.keys) {
                try? await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
        self.wake = nil
        for (id, entry) in active {
            var clock = entry.seedClock
            try? store.addSeedingSeconds(torrentId: id, clock.takeUnsaved())
            if scope.only != nil, let ended = finished.first(where: { $0.id == id }) {
                // A scoped run's torrent waits in the scope's stopped state, or is complete.
                endings[id] = .session(ended.outcome, ended.status)
                _ = try? SessionEnding.record(
                    ended.outcome, of: entry.record, in: store, completedState: entry.endState ?? .completed,
                    stoppedState: scope.stoppedState)
                continue
            }
            // Interrupted by the daemon's own stop: it goes on (downloading or seeding) at the next start.
            if let current = try? store.torrent(id: id), !current.isRemoved, current.state != .paused {
                try? store.setState(torrentId: id, .queued)
            }
        }
        active = [:]
        processRun.end(clean: true)
    }

    /// Ends ``run(pollInterval:onChange:)``: every session stops and saves its progress.
    package func stop() {
        stopping = true
        wake?.yield()
    }

    /// What each torrent being worked is doing: fetching its metadata, or transferring.
    package func progress() async -> [Int64: QueueProgress] {
        var result: [Int64: QueueProgress] = [:]
        for (id, fetch) in fetching { result[id] = .fetching(await fetch.work.status()) }
        for (id, entry) in active { result[id] = .transferring(await entry.work.status()) }
        return result
    }

    /// Each torrent's share of the overall connection limit (at most its own limit).
    func sessionConfiguration() -> SessionConfiguration {
        var configuration = self.configuration
        // Seeds are active torrents too: they share the overall limit with the downloads.
        let sharers = maxActive() + max(0, settings.maxSeeds)
        configuration.maxPeers = min(configuration.maxPeers, max(1, maxPeersOverall / sharers))
        return configuration
    }

    private func maxActive() -> Int {
        if let only = scope.only { return max(1, only.count) }
        if let fixedMaxActive { return fixedMaxActive }
        return max(1, store.intSetting(Self.maxActiveSetting) ?? 3)
    }

    /// One pass: settle finished sessions and checks, stop what the user paused, removed or wants
    /// rechecked, note stalled downloads, start checks and what fits.
    private func reconcile(onChange: @Sendable (String) -> Void) async throws {
        settings = TransferSettings(store: store)
        if let only = scope.only {
            // Each named torrent has a seed slot when they seed, and none when they do not.
            settings.maxSeeds = scope.seeds ? only.count : 0
        }
        limiters.apply(settings)
        for (id, outcome, status) in finished {
            guard var entry = active.removeValue(forKey: id) else { continue }
            if scope.only != nil { endings[id] = .session(outcome, status) }
            try store.addSeedingSeconds(torrentId: id, entry.seedClock.takeUnsaved())
            onChange(
                try SessionEnding.record(
                    outcome, of: entry.record, in: store, completedState: entry.endState ?? .completed,
                    stoppedState: scope.stoppedState))
        }
        finished = []
        try settleFetches(onChange: onChange)
        try settleChecks(onChange: onChange)

        // Only what this pass needs is read: the torrents it works, those asking for a check, and the first
        // candidates in queue order (a pass costs the same with a hundred thousand torrents queued).
        let tracked = Set(active.keys).union(fetching.keys).union(checks)
        let byId = Dictionary(
            uniqueKeysWithValues: try store.torrents(ids: Set(tracked)).filter { !$0.isRemoved }.map { ($0.id, $0) })
        for (id, entry) in active {
            let record = byId[id]
            if record == nil || record?.state == .paused || record?.state == .checking {
                Task { await entry.work.stop() }
            }
            entry.limits.apply(try store.rateLimits(torrentId: id))
        }
        stopFetchesNoLongerWanted(byId)
        try await followSeeding(onChange: onChange)
        trimSeeds(onChange: onChange)
        await updateStalls(onChange: onChange)
        for record in try store.torrents(in: .checking, limit: 64)
        where active[record.id] == nil && !checks.contains(record.id) && scope.contains(record.id) {
            startCheck(record, onChange: onChange)
        }
        var downloadSlots = maxActive() - active.values.filter { !$0.seeding && !$0.stalled }.count - fetching.count
        var seedSlots = settings.maxSeeds - active.values.filter(\.seeding).count
        let candidates = try candidates(downloadSlots: downloadSlots, seedSlots: seedSlots, tracked: tracked.count)
        for record in candidates where active[record.id] == nil {
            guard [.queued, .downloading, .seeding, .fetchingMetadata].contains(record.state) else { continue }
            if record.isMagnet {
                // No metadata yet: fetch it first, in a download slot; the download starts when it is stored.
                guard downloadSlots > 0, fetching[record.id] == nil else { continue }
                startFetch(record, onChange: onChange)
                downloadSlots -= 1
                continue
            }
            // Finished before (and not taken back to downloading by new wanted files): a seed, where seeds are
            // wanted (else its download finds the data complete and ends at once).
            let isSeed = scope.seeds && (record.state == .seeding || record.completedAt != nil)
            if isSeed {
                guard seedSlots > 0 else { continue }
                // The daemon does not start a seed past its limit; a scoped run starts what it was named (its
                // data is checked) and stops it at the first look, so it ends as every other does.
                if scope.only == nil,
                    let reached = try seedLimitReached(record, uploaded: record.uploaded, downloaded: record.downloaded)
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
                try scope.beforeDownload?(record)
                let limits = limiters.limits(own: try store.rateLimits(torrentId: record.id))
                let work = try workers.download(
                    record, configuration: sessionConfiguration(), limits: limits, resumePolicy: processRun.policy,
                    stopWhenComplete: scope.only != nil && !scope.seeds)
                try store.setState(torrentId: record.id, isSeed ? .seeding : .downloading)
                let id = record.id
                let peers = manualPeers.map { (address: $0, source: PeerUpdate.Source.manual) }
                let metPeers = fetchedPeers.removeValue(forKey: id) ?? []
                starting.append {
                    await work.addPeers(peers + metPeers)
                    let outcome = await work.run()
                    await self.sessionEnded(id, outcome, await work.status())
                }
                var entry = Active(
                    record: record, work: work, limits: limits, seeding: isSeed, seedCheckPending: isSeed)
                if isSeed {
                    entry.seedClock.start()
                    seedSlots -= 1
                } else {
                    downloadSlots -= 1
                }
                active[id] = entry
                onChange("\(isSeed ? "seeding" : "started") #\(id) \(record.name)")
            } catch {
                if scope.only != nil { endings[record.id] = .failed("\(error)") }
                try store.setState(torrentId: record.id, .error, error: "\(error)")
                onChange("error #\(record.id) \(record.name): \(error)")
            }
        }
    }

    /// The torrents a pass may start, in queue order: the scope's, or the first of the queue beyond those
    /// already working, with room to skip ones that cannot start now.
    private func candidates(downloadSlots: Int, seedSlots: Int, tracked: Int) throws -> [TorrentRecord] {
        if let only = scope.only {
            return try store.torrents(ids: only).filter { !$0.isRemoved }.sorted { $0.queuePosition < $1.queuePosition }
        }
        let margin = tracked + 64
        return
            (try store.downloadCandidates(limit: max(0, downloadSlots) + margin)
            + (seedSlots > 0 ? try store.seedCandidates(limit: seedSlots + margin) : []))
            .sorted { $0.queuePosition < $1.queuePosition }
    }

    /// Marks downloads that got no data for the stall timeout, so the next queued torrent gets their slot,
    /// and unmarks them when data flows again.
    private func updateStalls(onChange: @Sendable (String) -> Void) async {
        let timeout = Duration.seconds(store.intSetting(Self.stallTimeoutSetting) ?? 300)
        for (id, entry) in active where !entry.seeding {
            let status = await entry.work.status()
            let stalled = !status.isComplete && !status.isStarting && status.idleTime >= timeout
            guard let current = active[id], stalled != current.stalled else { continue }
            active[id]?.stalled = stalled
            let name = entry.record.name
            let detail =
                stalled
                ? "no data for \(timeout.components.seconds) s: it keeps looking for peers but no longer holds a download slot"
                : "data flows again after a stall"
            try? store.recordEvent(torrentId: id, stalled ? .stalled : .state, detail: detail)
            onChange(stalled ? "stalled #\(id) \(name)" : "unstalled #\(id) \(name)")
        }
    }

    private func sessionEnded(_ id: Int64, _ outcome: TorrentSession.Outcome, _ status: TorrentStatus) {
        finished.append((id, outcome, status))
        wake?.yield()
    }

    /// Asks for a pass now.
    func passNow() { wake?.yield() }

    /// Notes how a scoped run's torrent ended.
    func noteEnding(_ id: Int64, _ ending: QueueEnding) { endings[id] = ending }
}
