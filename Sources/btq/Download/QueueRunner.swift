import Engine
import Foundation
import Logging
import Store

/// Works the queue from the database: keeps up to N torrents downloading in queue order, starts the
/// next when one ends, and follows what the CLI writes (new torrents, pause, remove, queue moves).
actor QueueRunner {
    private struct Active {
        let job: DownloadJob
        let task: Task<TorrentSession.Outcome, Never>
    }

    private let store: BtqStore
    private let configuration: SessionConfiguration
    private let logger: Logger
    private let fixedMaxActive: Int?
    private var active: [Int64: Active] = [:]
    private var stopping = false
    private var finished: [(Int64, TorrentSession.Outcome)] = []

    /// The setting that caps simultaneous downloads when `--max-active` is not given.
    static let maxActiveSetting = "max_active_downloads"

    private let manualPeers: [PeerAddress]
    private let maxPeersOverall: Int
    private let trackers = TrackerClient()

    init(
        store: BtqStore, configuration: SessionConfiguration, maxActive: Int?, peers: [PeerAddress] = [],
        maxPeersOverall: Int = 200, logger: Logger
    ) {
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
                try reconcile(onChange: onChange)
            } catch {
                logger.error("queue: \(error)")
            }
            try? await Task.sleep(for: pollInterval)
        }
        for entry in active.values { await entry.job.session.stop() }
        for (id, entry) in active {
            _ = await entry.task.value
            // Interrupted by the daemon's own stop: it goes on at the next start.
            try? store.setState(torrentId: id, .queued)
        }
        active = [:]
        await trackers.shutdown()
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
        let setting = (try? store.setting(Self.maxActiveSetting)).flatMap { $0 }.flatMap(Int.init) ?? 3
        return max(1, setting)
    }

    /// One pass: settle finished sessions, stop what the user paused or removed, start what fits.
    private func reconcile(onChange: @Sendable (String) -> Void) throws {
        for (id, outcome) in finished {
            guard let entry = active.removeValue(forKey: id) else { continue }
            let name = entry.job.record.name
            let current = try store.torrent(id: id)
            switch outcome {
            case .completed:
                try store.setState(torrentId: id, .completed)
                onChange("completed #\(id) \(name)")
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

        let records = try store.torrents()
        let byId = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        for (id, entry) in active {
            let record = byId[id]
            if record == nil || record?.state == .paused {
                Task { await entry.job.session.stop() }
            }
        }
        var slots = maxActive() - active.count
        for record in records where slots > 0 && active[record.id] == nil {
            guard record.state == .queued || record.state == .downloading else { continue }
            do {
                let job = try DownloadJob(
                    record: record, store: store, configuration: sessionConfiguration(), stopWhenComplete: true,
                    trackers: trackers, logger: logger)
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

    private func sessionEnded(_ id: Int64, _ outcome: TorrentSession.Outcome) {
        finished.append((id, outcome))
    }
}
