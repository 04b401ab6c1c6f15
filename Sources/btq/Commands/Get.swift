import ArgumentParser
import Engine
import Foundation
import Logging
import Store

/// `btq get`: add torrents and download them to completion, in the foreground.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download torrents now, with a live progress line; exit 0 when all are complete and verified.",
        discussion: """
            Each argument is a .torrent file, a magnet link, or the id / hash prefix of a torrent already \
            in the queue. New ones are added to the queue first (as `btq add` would), so `btq list` and \
            `btq history` know them. Ctrl-C stops cleanly and saves progress.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("A .torrent file, a magnet link, or a queued torrent's id.", valueName: "torrent"))
    var sources: [String]

    @Option(
        name: .long, help: ArgumentHelp("Where to save new torrents (default: the current folder).", valueName: "path"))
    var dir: String?

    @OptionGroup var peerOptions: PeerOptions

    @Option(
        name: .long,
        help: ArgumentHelp("Download only these files (indexes from `btq files`, comma-separated).", valueName: "list"))
    var only: String?

    @Flag(name: .long, help: "No progress line.")
    var quiet = false

    @Flag(
        name: .long,
        help: "Once complete, go on seeding until Ctrl-C or the seed limits (seed_ratio_limit, seed_time_limit).")
    var seed = false

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("Name at least one torrent.") }
        if let only, FileSelection.parse(only) == nil {
            throw ValidationError("--only '\(only)' is not a comma-separated list of file indexes.")
        }
    }

    func run() async throws {
        let database = try store.openStore()
        let added = try resolveOrAdd(database)
        if let only, let wanted = FileSelection.parse(only) {
            for record in added where !record.isMagnet {
                let files = try database.files(torrentId: record.id)
                let priorities = Dictionary(
                    uniqueKeysWithValues: files.map { ($0.index, wanted.contains($0.index) ? 4 : 0) })
                try database.setFilePriorities(torrentId: record.id, priorities)
            }
        }
        var logger = Logger(label: "btq")
        logger.logLevel =
            ProcessInfo.processInfo.environment["BTQ_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let settings = TransferSettings(store: database)
        let budget = settings.memoryBudget()
        // Peers may connect to us while we download: we upload what we have. The listener is bound first,
        // so that trackers (and the metadata fetch of magnet links) are told the port actually bound.
        let registry = SessionRegistry()
        let listener = await Listening.start(
            host: peerOptions.bindAddress ?? settings.bindAddress, port: peerOptions.port ?? settings.listenPort,
            registry: registry,
            budget: budget)
        defer { listener?.close() }
        var configuration = SessionConfiguration(listenPort: Listening.announcedPort(listener))
        configuration.memoryBudget = budget
        let trackers = TrackerClient()
        let processRun = try ProcessRun(store: database)
        let addresses = peerOptions.peerAddresses
        // Magnet links without metadata fetch it from peers first.
        let (records, fetchedPeers) = try await fetchMetadata(
            added, store: database, configuration: configuration, trackers: trackers, peers: addresses,
            logger: logger)
        let limiters = RateLimiters()
        limiters.apply(settings)
        let jobs = try records.map { record in
            try DownloadJob(
                record: record, store: database, configuration: configuration, stopWhenComplete: !seed,
                trackers: trackers, resumePolicy: processRun.policy,
                limits: limiters.limits(own: try database.rateLimits(torrentId: record.id)),
                logger: logger)
        }
        for job in jobs { registry.add(job.session) }
        let sessions = jobs.map(\.session)
        let trap = SignalTrap { _ in
            for session in sessions { Task { await session.stop() } }
        }
        defer { withExtendedLifetime(trap) {} }

        let outcomes = await withTaskGroup(of: (Int, TorrentSession.Outcome).self) { group in
            for (index, job) in jobs.enumerated() {
                group.addTask {
                    await job.session.addPeers(addresses, source: .manual)
                    await job.session.addPeers(fetchedPeers[job.record.id] ?? [])
                    try? database.setState(torrentId: job.record.id, .downloading)
                    let outcome = await job.session.run()
                    await job.storage.close()
                    return (index, outcome)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    processRun.heartbeat()
                    try? await Task.sleep(for: .seconds(1))
                }
                return (-1, .stopped)
            }
            if !quiet {
                group.addTask {
                    await Self.showProgress(jobs)
                    return (-1, .stopped)
                }
            }
            if seed {
                for job in jobs {
                    group.addTask {
                        await Self.followSeeding(job, database: database, settings: settings)
                        return (-1, .stopped)
                    }
                }
            }
            var outcomes: [Int: TorrentSession.Outcome] = [:]
            for await (index, outcome) in group where index >= 0 {
                outcomes[index] = outcome
                if outcomes.count == jobs.count { group.cancelAll() }
            }
            return outcomes
        }
        await trackers.shutdown()
        processRun.end(clean: true)
        var failed = false
        for (index, job) in jobs.enumerated() {
            let status = await job.session.status()
            let outcome = outcomes[index] ?? .stopped
            // Ctrl-C before the download completed: it waits paused, not queued for the daemon.
            try SessionEnding.record(outcome, of: job.record, in: database, stoppedState: .paused)
            switch outcome {
            case .completed:
                print(
                    "completed #\(job.record.id) \(job.record.shownName): \(Formatting.size(status.bytesDone)) in \(job.record.saveDirectory)"
                )
            case .stopped:
                print("stopped #\(job.record.id) \(job.record.shownName) at \(Formatting.percent(status.progress))")
                failed = true
            case .failed(let reason):
                FileHandle.standardError.write(
                    Data("btq: #\(job.record.id) \(job.record.shownName): \(TerminalText.clean(reason))\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Fetches the metadata of the magnet links among `records` (at once), stores it and returns the
    /// records with their metainfo, and the peers each fetch met. Ctrl-C stops the fetches; a torrent
    /// whose fetch stopped or failed ends the command with status 1.
    private func fetchMetadata(
        _ records: [TorrentRecord], store: BtqStore, configuration: SessionConfiguration, trackers: TrackerClient,
        peers: [PeerAddress], logger: Logger
    ) async throws -> ([TorrentRecord], [Int64: [(address: PeerAddress, source: PeerUpdate.Source)]]) {
        let fetches = records.filter(\.isMagnet).map {
            MagnetFetch(
                record: $0, store: store, configuration: configuration, trackers: trackers, peers: peers,
                logger: logger)
        }
        guard !fetches.isEmpty else { return (records, [:]) }
        let trap = SignalTrap { _ in
            for fetch in fetches { Task { await fetch.stop() } }
        }
        defer { withExtendedLifetime(trap) {} }
        let quiet = self.quiet
        let results = await withTaskGroup(of: (Int64, Result<MagnetFetch.Fetched?, QueueError>)?.self) { group in
            for fetch in fetches {
                group.addTask { (fetch.record.id, await fetch.run()) }
            }
            if !quiet {
                group.addTask {
                    var lines = fetches.map { _ in ProgressLine() }
                    while !Task.isCancelled {
                        for (index, fetch) in fetches.enumerated() {
                            if let status = await fetch.status() {
                                lines[index].show(name: fetch.record.shownName, fetching: status)
                            }
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                    return nil
                }
            }
            var results: [Int64: Result<MagnetFetch.Fetched?, QueueError>] = [:]
            for await case let (id, result)? in group {
                results[id] = result
                if results.count == fetches.count { group.cancelAll() }
            }
            return results
        }
        var updated: [TorrentRecord] = []
        var fetchedPeers: [Int64: [(address: PeerAddress, source: PeerUpdate.Source)]] = [:]
        var failed = false
        for record in records {
            switch results[record.id] {
            case nil:
                updated.append(record)
            case .success(let fetched?)?:
                updated.append(fetched.record)
                fetchedPeers[record.id] = fetched.peers
                if let only, let wanted = FileSelection.parse(only) {
                    let files = try store.files(torrentId: record.id)
                    try store.setFilePriorities(
                        torrentId: record.id,
                        Dictionary(uniqueKeysWithValues: files.map { ($0.index, wanted.contains($0.index) ? 4 : 0) }))
                }
            case .success(nil)?:
                try store.setState(torrentId: record.id, .paused)
                print("stopped #\(record.id) \(record.shownName) before its metadata arrived")
                failed = true
            case .failure(let error)?:
                try store.setState(torrentId: record.id, .error, error: error.message)
                FileHandle.standardError.write(
                    Data("btq: #\(record.id) \(record.shownName): \(TerminalText.clean(error.message))\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
        return (updated, fetchedPeers)
    }

    /// Existing queue entries by id or hash prefix; files and magnets are added (checked all first).
    private func resolveOrAdd(_ database: BtqStore) throws -> [TorrentRecord] {
        var records: [TorrentRecord] = []
        var newSources: [(Int, TorrentSource)] = []
        for (index, source) in sources.enumerated() {
            let isFileOrMagnet =
                source.lowercased().hasPrefix("magnet:") || FileManager.default.fileExists(atPath: source)
            if isFileOrMagnet {
                newSources.append((index, try TorrentInput.load(source)))
            } else {
                records.append(try database.resolve(source))
            }
        }
        let saveDirectory = absolutePath(dir ?? FileManager.default.currentDirectoryPath)
        for (_, source) in newSources {
            switch try database.add(NewTorrent(source: source, saveDirectory: saveDirectory)) {
            case .added(let record), .duplicate(let record):
                if !records.contains(where: { $0.id == record.id }) { records.append(record) }
            }
        }
        return records
    }

    private static func showProgress(_ jobs: [DownloadJob]) async {
        var lines = jobs.map { _ in ProgressLine() }
        while !Task.isCancelled {
            for (index, job) in jobs.enumerated() {
                lines[index].show(name: job.record.shownName, await job.session.status())
            }
            try? await Task.sleep(for: .seconds(1))
        }
        for (index, job) in jobs.enumerated() {
            lines[index].show(name: job.record.shownName, await job.session.status(), final: true)
        }
    }
}

/// Parses file index lists such as `0,2,5-7`.
enum FileSelection {
    static func parse(_ text: String) -> Set<Int>? {
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let value = Int(bounds[0]), value >= 0 {
                result.insert(value)
            } else if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, low <= high,
                high - low < 1_000_000
            {
                result.formUnion(low...high)
            } else {
                return nil
            }
        }
        return result.isEmpty ? nil : result
    }
}
