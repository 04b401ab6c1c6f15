import Foundation
import Logging
import Synchronization

/// Works the queue from the database: keeps up to N torrents downloading in queue order, starts the
/// next when one ends or stalls, seeds finished ones within the seed slots and limits, fetches the
/// metadata of magnet links, rechecks torrents put in the `checking` state, and follows what the CLI
/// writes (new torrents, pause, remove, queue moves, settings).
///
/// It decides; ``QueueWorkers`` does the work (sessions, fetches, checks) and ``QueueStore`` keeps the
/// queue, so it runs in its tests over an in-memory queue with stand-in workers. What is in progress,
/// and what follows from that alone (slots held, seeds over the limit, stalls), is a ``QueueJobs``;
/// the limits it works within (slots, connections, rates, seed limits) are a ``QueueLimits``.
package actor QueueManager {
    let store: any QueueStore
    let workers: any QueueWorkers
    let logger: Logger
    /// The sessions, fetches and checks in progress, and those that ended since the last pass.
    var jobs = QueueJobs()
    private var stopping = false
    private let processRun: ProcessRun
    /// What it works: the whole queue, or named torrents until each has ended.
    let scope: QueueScope
    /// How each torrent of a scoped run ended, for the command that asked to report.
    package private(set) var endings: [Int64: QueueEnding] = [:]
    /// Asks ``run(pollInterval:onChange:)`` for a pass now (work ended, or a stop), not at the next poll.
    private var wake: AsyncStream<Void>.Continuation?
    /// The last pass started ``startsPerPass`` sessions and left candidates: the next pass follows at once.
    private var moreToStart = false

    /// The most sessions one pass starts. Each start reads and writes the torrent's rows; a pass that
    /// started all of a restart's 5,000 seeds took seconds before the first of them could check its data
    /// or announce (its work begins when the pass ends). In slices, the starts of the next slice overlap
    /// the checks and announces of the last.
    static let startsPerPass = 128

    /// The setting that caps simultaneous downloads when `--max-active` is not given.
    package static let maxActiveSetting = "max_active_downloads"
    /// The setting: seconds without data after which a download stops holding an active slot.
    package static let stallTimeoutSetting = "stall_timeout"

    let manualPeers: [PeerAddress]
    /// Slots, connections, rates and seed limits, with the settings of this pass.
    private(set) var limits: QueueLimits
    /// Which passes read the queue, and which seeds a pass looks at.
    var rhythm = PassRhythm()
    /// The seeding time saved of each torrent worked, as the last pass that read the queue found it plus
    /// what was saved since.
    var savedSeedingSeconds: [Int64: Int64] = [:]
    /// The queue's generation when a pass last read the rows of the torrents worked: the next reads only
    /// what changed since (``QueueStore/torrentsChanged(among:since:)``); `nil` until the first.
    private var followedGeneration: Int64?
    /// Torrents started since the last pass that read the queue, whose own limits and seeding time it
    /// has not read yet.
    private var figuresUnread: Set<Int64> = []

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
        self.store = store
        self.manualPeers = peers
        self.limits = QueueLimits(
            configuration: configuration, fixedMaxActive: maxActive, maxPeersOverall: maxPeersOverall, scope: scope)
        self.logger = logger
    }

    /// Runs until ``stop()``, or for a scoped run until each of its torrents has ended; returns after
    /// every session saved its progress.
    ///
    /// A pass runs every `pollInterval` (what the CLI writes is seen then), and at once when work ends.
    /// Every fetch and check it starts is a child of its task group, and so is each session's start; a
    /// session then works without a task (see ``DownloadWork/start(onEnd:)``) and is stopped and waited for
    /// before this returns: none outlives it.
    package func run(pollInterval: Duration = .milliseconds(500), onChange: @escaping @Sendable (String) -> Void) async
    {
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
            var lastHeartbeat: ContinuousClock.Instant?
            while !stopping {
                if lastHeartbeat.map({ .now - $0 >= ProcessRun.heartbeatInterval }) ?? true {
                    processRun.heartbeat()
                    lastHeartbeat = .now
                }
                do {
                    try await reconcile(onChange: onChange)
                } catch {
                    logger.error("queue: \(error)")
                }
                let starting = jobs.takeStarting()
                for work in starting { group.addTask(operation: work) }
                if scope.only != nil, starting.isEmpty, jobs.isIdle { break }
                if moreToStart { continue }
                _ = await passes.next(isolation: self)
            }
            // Sessions and fetches stop and save their progress; checks are cancelled once they have.
            for entry in jobs.active.values { await entry.work.stop() }
            await stopFetches()
            while !jobs.sessionsEnded {
                try? await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
        self.wake = nil
        let finished = jobs.finished
        for (id, entry) in jobs.takeSessions() where !entry.abandoned {
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
        processRun.end(clean: true)
    }

    /// Ends ``run(pollInterval:onChange:)``: every session stops and saves its progress.
    package func stop() {
        stopping = true
        wake?.yield()
    }

    /// The connected peers of torrent `id` with their rates, or `nil` when it is not transferring.
    package func livePeers(of id: Int64) async -> [LivePeer]? {
        guard let entry = jobs.active[id] else { return nil }
        return await entry.work.livePeers()
    }

    /// What each torrent being worked is doing: fetching its metadata, or transferring.
    package func progress() async -> [Int64: QueueProgress] {
        var result: [Int64: QueueProgress] = [:]
        for (id, fetch) in jobs.fetching { result[id] = .fetching(await fetch.work.status()) }
        for (id, entry) in jobs.active where !entry.abandoned {
            result[id] = .transferring(await entry.work.status())
        }
        return result
    }

    /// Each torrent's share of the overall connection limit (at most its own limit).
    func sessionConfiguration() -> SessionConfiguration {
        limits.sessionConfiguration(maxActive: maxActive(), worked: jobs.active.count)
    }

    func maxActive() -> Int { limits.maxActive(setting: store.intSetting(Self.maxActiveSetting)) }

    /// One pass: settle finished sessions and checks, stop what the user paused, removed or wants
    /// rechecked, note stalled downloads, start checks and what fits.
    ///
    /// What the CLI writes is read only when it changed (``QueueStore/queueGeneration()`` moved), when
    /// work ended or started, or at the latest every ``PassRhythm/fullPassInterval``; otherwise a pass looks
    /// only at the downloads and at a slice of the seeds (see ``PassRhythm``), so an idle daemon's passes
    /// cost the same with five thousand seeds as with five. A full pass too looks at a slice of the seeds
    /// only, unless the seed limits changed.
    private func reconcile(onChange report: @escaping @Sendable (String) -> Void) async throws {
        moreToStart = false
        let generation = try store.queueGeneration()
        let full = rhythm.beginPass(generation: generation, workEnded: jobs.hasEndedWork)
        let changes = Mutex(0)
        let onChange: @Sendable (String) -> Void = { line in
            changes.withLock { $0 += 1 }
            report(line)
        }
        defer {
            // A start storm over, the memory its start checks used and freed goes back to the kernel.
            if rhythm.endPass(changed: changes.withLock { $0 } > 0) { HeapTrim.now() }
        }
        let seedLimits = limits.settings.seedLimits
        if full { limits.update(TransferSettings(store: store)) }
        while let ended = jobs.takeEndedSession() {
            var entry = ended.entry
            let id = entry.record.id
            savedSeedingSeconds[id] = nil
            if scope.only != nil { endings[id] = .session(ended.outcome, ended.status) }
            guard !entry.abandoned else {
                onChange("stopped #\(id) \(entry.record.name): removed and added again")
                continue
            }
            try store.addSeedingSeconds(torrentId: id, entry.seedClock.takeUnsaved())
            onChange(
                try SessionEnding.record(
                    ended.outcome, of: entry.record, in: store, completedState: entry.endState ?? .completed,
                    stoppedState: scope.stoppedState))
        }
        try settleFetches(onChange: onChange)
        try settleChecks(onChange: onChange)

        if full {
            try await followQueue(generation: generation)
        }
        // Every seed is looked at only when the seed limits changed; else a slice of them, as in every pass.
        try await followSeeding(everySeed: limits.settings.seedLimits != seedLimits, onChange: onChange)
        await updateStalls(onChange: onChange)
        try await settleChecksAhead(onChange: onChange)
        // Slots, seeds over the limit and candidates change only with the queue or the work: a pass that
        // read nothing new and changed nothing starts nothing.
        guard full || changes.withLock({ $0 }) > 0 else { return }
        trimSeeds(onChange: onChange)
        for record in try store.torrents(in: .checking, limit: 64)
        where jobs.active[record.id] == nil && !jobs.checks.contains(record.id) && scope.contains(record.id) {
            startCheck(record, onChange: onChange)
        }
        var downloadSlots = maxActive() - jobs.downloadSlotsHeld
        var seedSlots = limits.settings.maxSeeds - jobs.seedSlotsHeld
        // Torrents that never ran are checked ahead of their slot while every slot is taken (the daemon only).
        var aheadSlots = scope.only == nil ? limits.settings.checkAhead - jobs.checkingAhead.count : 0
        let cap = Self.startsPerPass
        let candidates = try scope.candidates(
            in: store, downloadSlots: min(downloadSlots, cap), seedSlots: min(seedSlots, cap),
            aheadSlots: min(aheadSlots, cap), tracked: jobs.tracked)
        var started = 0
        for record in candidates where jobs.active[record.id] == nil {
            guard started < cap else {
                moreToStart = true
                break
            }
            guard [.queued, .downloading, .seeding, .fetchingMetadata].contains(record.state) else { continue }
            if record.isMagnet {
                // No metadata yet: fetch it first, in a download slot; the download starts when it is stored.
                guard downloadSlots > 0, jobs.fetching[record.id] == nil else { continue }
                startFetch(record, onChange: onChange)
                downloadSlots -= 1
                continue
            }
            let isSeed = scope.startsAsSeed(record)
            var checkingAhead = false
            if isSeed {
                guard seedSlots > 0 else { continue }
                // The daemon does not start a seed past its limit; a scoped run starts what it was named (its
                // data is checked) and stops it at the first look, so it ends as every other does.
                if scope.only == nil,
                    let reached = limits.seedLimitReached(
                        uploaded: record.uploaded, downloaded: record.downloaded, bytesDone: record.bytesDone,
                        seededSeconds: try store.seedingSeconds(torrentId: record.id))
                {
                    try store.recordEvent(torrentId: record.id, .seedLimit, detail: reached)
                    try store.setState(torrentId: record.id, .completed)
                    onChange("completed #\(record.id) \(record.name): \(reached)")
                    continue
                }
            } else if downloadSlots <= 0 {
                // Every slot is taken: one that never ran has its data checked now, and waits after the check.
                guard aheadSlots > 0, record.startedAt == nil else { continue }
                checkingAhead = true
            }
            do {
                try scope.beforeDownload?(record)
                let transferLimits = limits.transferLimits(own: try store.rateLimits(torrentId: record.id))
                var configuration = sessionConfiguration()
                configuration.holdsAfterStartCheck = checkingAhead
                let work = try workers.download(
                    record, configuration: configuration, limits: transferLimits,
                    resumePolicy: processRun.policy,
                    stopWhenComplete: scope.only != nil && !scope.seeds)
                // Checked ahead, it stays `queued` until it seeds or takes a slot.
                if !checkingAhead { try store.setState(torrentId: record.id, isSeed ? .seeding : .downloading) }
                let id = record.id
                let peers = manualPeers.map { (address: $0, source: PeerUpdate.Source.manual) }
                let metPeers = jobs.takePeersMet(by: id)
                var entry = QueueJobs.Active(
                    record: record, work: work, limits: transferLimits, seeding: isSeed, seedCheckPending: isSeed,
                    checkingAhead: checkingAhead)
                if isSeed {
                    entry.seedClock.start()
                    seedSlots -= 1
                } else if checkingAhead {
                    aheadSlots -= 1
                } else {
                    downloadSlots -= 1
                }
                figuresUnread.insert(id)
                started += 1
                // The session's task ends once its work is under way (its start check done): an idle seed
                // holds no task (see ``TorrentSession/start(onEnd:)``).
                jobs.start(entry) {
                    await work.addPeers(peers + metPeers)
                    await work.start { outcome in
                        await self.sessionEnded(id, outcome, await work.status())
                    }
                }
                // Once its start check is done a pass follows at once: a download found complete frees its
                // slot for the next one now, not at the next tick (torrents added with their data in place
                // start as fast as they are checked, not a slotful per tick). A task of its own that ends
                // then: as an `async let` of the session's task it would be kept, with its frames, for the
                // session's whole life.
                rhythm.sessionStarting()
                jobs.startBeside { await self.passWhenStarted(work, id: id) }
                onChange(
                    isSeed
                        ? "seeding #\(id) \(record.name)"
                        : checkingAhead
                            ? "checking #\(id) \(record.name) ahead of its download slot"
                            : "started #\(id) \(record.name)")
            } catch {
                if scope.only != nil { endings[record.id] = .failed("\(error)") }
                try store.setState(torrentId: record.id, .error, error: "\(error)")
                onChange("error #\(record.id) \(record.name): \(error)")
            }
        }
    }

    /// Reads what the CLI may have changed of the torrents worked: a session whose torrent was paused,
    /// removed or put in `checking` stops, one removed and added again is abandoned, each follows its own
    /// rate limits, download order and file priorities; fetches no longer wanted stop. The seeding time
    /// saved is read again too.
    ///
    /// Only the rows changed since the last such read (`generation` is the queue's now) are read, with the
    /// own limits and seeding time of those and of the torrents started since: a start storm of thousands
    /// of torrents, each start moving the generation, costs a read per change, not one per torrent worked.
    private func followQueue(generation: Int64) async throws {
        let tracked = jobs.tracked
        let read: (changed: [TorrentRecord], deleted: Set<Int64>)
        if let since = followedGeneration {
            read = try store.torrentsChanged(among: tracked, since: since)
        } else {
            let rows = try store.torrents(ids: tracked)
            read = (rows, tracked.subtracting(rows.map(\.id)))
        }
        followedGeneration = generation
        var byId: [Int64: TorrentRecord] = [:]
        for record in read.changed where !record.isRemoved { byId[record.id] = record }
        // Gone: removed, deleted, or removed and added again since its work started. The last's work stops
        // as a removed torrent's does (its store is pinned to the old row, so it writes nothing into the new
        // one), and a later pass starts the torrent afresh once it has ended.
        var gone = read.deleted.union(read.changed.filter(\.isRemoved).map(\.id))
        for id in jobs.addedAgain(byId) {
            byId[id] = nil
            gone.insert(id)
            jobs.abandon(id)
        }
        // One read for the limits and seeding time of the torrents changed or started since, not one each.
        let unread = figuresUnread.intersection(jobs.active.keys)
        figuresUnread = []
        let figures = try store.workedFigures(
            torrentIds: Array(Set(byId.keys).union(unread).filter { jobs.active[$0] != nil }))
        for (id, figure) in figures { savedSeedingSeconds[id] = figure.seedingSeconds }
        for id in gone.union(byId.keys).sorted() {
            guard let entry = jobs.active[id] else { continue }
            let record = byId[id]
            if record == nil || record?.state == .paused || record?.state == .checking {
                Task { await entry.work.stop() }
            }
            if let own = figures[id]?.limits { entry.limits.apply(own) }
            if let record { await followSettings(of: record, work: entry.work) }
        }
        stopFetchesNoLongerWanted(gone: gone, changed: byId)
    }

    /// Has a running session follow what the CLI changed of its torrent: the download order, the file
    /// priorities (read again only when their change counter moved).
    private func followSettings(of record: TorrentRecord, work: any DownloadWork) async {
        let changed = jobs.settingsChanged(record)
        if let order = changed.order { await work.setDownloadOrder(order) }
        guard changed.priorities else { return }
        do {
            try await work.reloadFilePriorities()
        } catch {
            logger.warning("#\(record.id): cannot read its file priorities again: \(error)")
        }
    }

    /// Marks downloads that got no data for the stall timeout, so the next queued torrent gets their slot,
    /// and unmarks them when data flows again.
    private func updateStalls(onChange: @Sendable (String) -> Void) async {
        let downloads = jobs.downloadIds.compactMap { id in jobs.active[id].map { (id, $0) } }.filter {
            !$0.1.abandoned && !$0.1.checkingAhead
        }
        guard !downloads.isEmpty else { return }
        let timeout = Duration.seconds(store.intSetting(Self.stallTimeoutSetting) ?? 300)
        for (id, entry) in downloads {
            let status = await entry.work.status()
            guard let stalled = jobs.noteStall(id, status, timeout: timeout) else { continue }
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
        jobs.sessionEnded(id, outcome, status)
        passNow()
    }

    /// Asks for a pass now, one that reads the queue.
    func passNow() {
        rhythm.askForFullPass()
        wake?.yield()
    }

    /// Asks for a pass that looks at torrent `id` once its `work` has checked what it already has (not a
    /// full pass: see ``PassRhythm/lookAtStarted(_:)``).
    private func passWhenStarted(_ work: any DownloadWork, id: Int64) async {
        await work.started()
        rhythm.lookAtStarted(id)
        wake?.yield()
    }

    /// Notes how a scoped run's torrent ended.
    func noteEnding(_ id: Int64, _ ending: QueueEnding) { endings[id] = ending }
}
