import Engine
import Foundation
import Logging
import Store

/// Works the queue from the database: keeps up to N torrents downloading in queue order, starts the
/// next when one ends or stalls, rechecks torrents put in the `checking` state, and follows what the
/// CLI writes (new torrents, pause, remove, queue moves).
actor QueueRunner {
    private struct Active {
        let job: DownloadJob
        let task: Task<TorrentSession.Outcome, Never>
        /// No data for the stall timeout: it keeps trying but does not hold a slot.
        var stalled = false
    }

    private let store: BtqStore
    private let configuration: SessionConfiguration
    private let logger: Logger
    private let fixedMaxActive: Int?
    private let processRun: ProcessRun
    private var active: [Int64: Active] = [:]
    private var checks: [Int64: Task<Void, Never>] = [:]
    private var stopping = false
    private var finished: [(Int64, TorrentSession.Outcome)] = []
    private var finishedChecks: [(Int64, Result<TorrentChecker.Result, any Error>)] = []

    /// The setting that caps simultaneous downloads when `--max-active` is not given.
    static let maxActiveSetting = "max_active_downloads"
    /// The setting: seconds without data after which a download stops holding an active slot.
    static let stallTimeoutSetting = "stall_timeout"

    private let manualPeers: [PeerAddress]
    private let maxPeersOverall: Int
    private let trackers = TrackerClient()

    init(
        store: BtqStore, configuration: SessionConfiguration, maxActive: Int?, peers: [PeerAddress] = [],
        maxPeersOverall: Int = 200, processRun: ProcessRun, logger: Logger
    ) {
        self.maxPeersOverall = maxPeersOverall
        self.store = store
        self.manualPeers = peers
        self.configuration = configuration
        self.fixedMaxActive = maxActive
        self.processRun = processRun
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
        for entry in active.values { await entry.job.session.stop() }
        for check in checks.values { check.cancel() }
        for (id, entry) in active {
            _ = await entry.task.value
            // Interrupted by the daemon's own stop: it goes on at the next start.
            try? store.setState(torrentId: id, .queued)
        }
        for check in checks.values { await check.value }
        active = [:]
        await trackers.shutdown()
        processRun.end(clean: true)
    }

    func stop() { stopping = true }

    /// Each torrent's share of the overall connection limit (at most its own limit).
    private func sessionConfiguration() -> SessionConfiguration {
        var configuration = self.configuration
        configuration.maxPeers = min(configuration.maxPeers, max(1, maxPeersOverall / maxActive()))
        return configuration
    }

    private func maxActive() -> Int {
        if let fixedMaxActive { return fixedMaxActive }
        return max(1, intSetting(Self.maxActiveSetting) ?? 3)
    }

    private func intSetting(_ name: String) -> Int? {
        (try? store.setting(name)).flatMap { $0 }.flatMap(Int.init)
    }

    /// One pass: settle finished sessions and checks, stop what the user paused or removed, note stalled
    /// downloads, start checks and what fits.
    private func reconcile(onChange: @Sendable (String) -> Void) async throws {
        try settleFinished(onChange: onChange)
        try settleChecks(onChange: onChange)

        let records = try store.torrents()
        let byId = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        for (id, entry) in active {
            let state = byId[id]?.state
            if state == nil || state == .paused || state == .checking {
                Task { await entry.job.session.stop() }
            }
        }
        await updateStalls(onChange: onChange)
        for record in records where record.state == .checking && active[record.id] == nil && checks[record.id] == nil {
            startCheck(record, onChange: onChange)
        }
        var slots = maxActive() - active.values.count { !$0.stalled }
        for record in records where slots > 0 && active[record.id] == nil {
            guard record.state == .queued || record.state == .downloading else { continue }
            do {
                let job = try DownloadJob(
                    record: record, store: store, configuration: sessionConfiguration(), stopWhenComplete: true,
                    trackers: trackers, resumePolicy: processRun.policy, logger: logger)
                try store.setState(torrentId: record.id, .downloading)
                let id = record.id
                let peers = manualPeers
                let task = Task {
                    await job.session.addPeers(peers, source: .manual)
                    let outcome = await job.session.run()
                    await job.storage.close()
                    self.sessionEnded(id, outcome)
                    return outcome
                }
                active[id] = Active(job: job, task: task)
                slots -= 1
                onChange("started #\(id) \(record.name)")
            } catch {
                try store.setState(torrentId: record.id, .error, error: "\(error)")
                onChange("error #\(record.id) \(record.name): \(error)")
            }
        }
    }

    private func settleFinished(onChange: @Sendable (String) -> Void) throws {
        for (id, outcome) in finished {
            guard let entry = active.removeValue(forKey: id) else { continue }
            let name = entry.job.record.name
            let current = try store.torrent(id: id)
            switch outcome {
            case .completed:
                try store.setState(torrentId: id, .completed)
                onChange("completed #\(id) \(name)")
            case .failed(let reason):
                // The others go on; its progress is saved, and `btq resume` retries it.
                try store.setState(torrentId: id, .error, error: reason)
                onChange("error #\(id) \(name): \(reason)")
            case .stopped:
                // Stopped because the user paused, removed or rechecks it: its state is already what they asked.
                if let current, !current.isRemoved, current.state == .downloading {
                    try store.setState(torrentId: id, .queued)
                }
                onChange("stopped #\(id) \(name)")
            }
        }
        finished = []
    }

    /// Marks downloads that got no data for the stall timeout, so the next queued torrent gets their slot,
    /// and unmarks them when data flows again.
    private func updateStalls(onChange: @Sendable (String) -> Void) async {
        let timeout = Duration.seconds(intSetting(Self.stallTimeoutSetting) ?? 300)
        for (id, entry) in active {
            let status = await entry.job.session.status()
            let stalled = !status.isComplete && status.idleTime >= timeout
            guard stalled != entry.stalled, active[id] != nil else { continue }
            active[id]?.stalled = stalled
            let name = entry.job.record.name
            let seconds = timeout.components.seconds
            let detail =
                stalled
                ? "no data for \(seconds) s: it keeps looking for peers but no longer holds an active slot"
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
            onChange("error #\(record.id) \(record.name): \(error)")
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
        onChange("checking #\(id) \(record.name)")
    }

    private func settleChecks(onChange: @Sendable (String) -> Void) throws {
        for (id, result) in finishedChecks {
            checks[id] = nil
            guard let record = try store.torrent(id: id), !record.isRemoved, record.state == .checking else { continue }
            switch result {
            case .success(let outcome):
                try store.setState(torrentId: id, outcome.isComplete ? .completed : .queued)
                onChange(CheckJob.summary(record, outcome))
            case .failure(let error):
                try store.setState(torrentId: id, .error, error: "recheck failed: \(error)")
                onChange("error #\(id) \(record.name): recheck failed: \(error)")
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
