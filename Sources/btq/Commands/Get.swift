import ArgumentParser
import Engine
import Foundation
import Logging
import Store

/// `btq get`: add torrents and download them to completion, in the foreground.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
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

    @OptionGroup var orderOptions: OrderOptions

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
        // Trapped from the start, as in `btq run`: a signal while listening and the DHT start stops the
        // download cleanly once it runs.
        let stopRequest = StopRequest()
        let trap = SignalTrap { _ in stopRequest.request() }
        defer { withExtendedLifetime(trap) {} }
        let database = try store.openStore()
        let named = try resolveOrAdd(database)
        if let order = orderOptions.order {
            for record in named { try database.queries.setDownloadOrder(torrentId: record.id, order) }
        }
        // What the user names now is worked now, whatever state it waited in.
        for record in named where ![.queued, .downloading, .seeding, .fetchingMetadata].contains(record.state) {
            try database.queue.setState(torrentId: record.id, .queued)
        }
        var logger = Logger(label: "btq")
        logger.logLevel =
            ProcessInfo.processInfo.environment["BTQ_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let settings = TransferSettings(store: database.ports)
        try settings.checkTransports()
        let budget = settings.memoryBudget()
        // Peers may connect to us while we download: we upload what we have. The listener is bound first,
        // so that trackers (and the metadata fetch of magnet links) are told the port actually bound.
        let registry = SessionRegistry()
        let listener = await Listening.start(
            host: peerOptions.bindAddress ?? settings.bindAddress, port: peerOptions.port ?? settings.listenPort,
            registry: registry,
            budget: budget, encryption: settings.encryption, tcp: settings.tcpEnabled, utp: settings.utpEnabled)
        defer { listener?.close() }
        var configuration = SessionConfiguration(listenPort: Listening.announcedPort(listener))
        configuration.memoryBudget = budget
        configuration.openFiles = OpenFileBudget(limit: settings.maxOpenFiles)
        configuration.startChecks = TurnGate(limit: TurnGate.startChecks)
        settings.applyDialling(to: &configuration)
        configuration.webSeeds.connections = settings.webSeedConnections
        configuration.webSeeds.tls = settings.tls
        configuration.encryption = PeerEncryption(policy: settings.encryption)
        configuration.transports = PeerTransports(
            tcp: settings.tcpEnabled, utp: settings.utpEnabled, sockets: listener?.utpSockets ?? [])
        let trackers = TrackerClient(tls: settings.tls)
        let dht = await DHTStarting.start(
            settings: settings, bindAddress: peerOptions.bindAddress ?? settings.bindAddress,
            port: configuration.listenPort == 0 ? (peerOptions.port ?? settings.listenPort) : configuration.listenPort,
            store: database.dht, shared: listener?.utpSocketsByHost ?? [:])
        // The same queue manager as `btq run`, narrowed to the named torrents, all at once.
        var beforeDownload: (@Sendable (TorrentRecord) throws -> Void)?
        if let wanted = only.flatMap(FileSelection.parse) {
            // Before each download, so after a magnet's metadata arrived too: the selection names files.
            beforeDownload = { record in try Self.select(wanted, of: record.id, in: database) }
        }
        let scope = QueueScope.only(Set(named.map(\.id)), seeding: seed, beforeDownload: beforeDownload)
        let manager = QueueManager(
            store: database.ports,
            workers: StoreWorkers(
                store: database.ports, trackers: trackers, registry: registry, dht: dht, logger: logger),
            configuration: configuration, maxActive: nil, scope: scope, peers: peerOptions.peerAddresses,
            // Each torrent has its own connection limit (the overall one is shared by download and seed slots).
            maxPeersOverall: configuration.maxPeers * named.count * 2,
            processRun: try ProcessRun(store: database.ports),
            logger: logger)
        stopRequest.whenRequested { Task { await manager.stop() } }
        let progress = quiet ? nil : Task { await Self.showProgress(manager, ids: named.map(\.id), store: database) }
        // With --seed it runs until stopped: say when a torrent starts seeding and why it stops.
        let seed = self.seed
        await manager.run { line in
            if seed { ProgressLine.say("btq: \(TerminalText.clean(line))") }
        }
        progress?.cancel()
        await progress?.value
        await dht?.close()
        await trackers.shutdown()
        try report(named, await manager.endings, store: database)
    }

    /// Prints how each named torrent ended; exit status 1 unless all are complete.
    private func report(_ named: [TorrentRecord], _ endings: [Int64: QueueEnding], store: BtqStore) throws {
        var failed = false
        for record in named {
            let current = (try? store.queries.torrent(id: record.id)) ?? record
            let name = "#\(record.id) \(current.shownName)"
            switch endings[record.id] {
            case .session(.completed, let status)?:
                print("completed \(name): \(Formatting.size(status.bytesDone)) in \(record.saveDirectory)")
            case .session(.stopped, let status)?:
                print("stopped \(name) at \(Formatting.percent(status.progress))")
                failed = true
            case .session(.failed(let reason), _)?, .failed(let reason)?:
                FileHandle.standardError.write(Data("btq: \(name): \(TerminalText.clean(reason))\n".utf8))
                failed = true
            case .fetchStopped?:
                print("stopped \(name) before its metadata arrived")
                failed = true
            case nil:
                // Never started: removed, or paused from elsewhere before its turn.
                print("stopped \(name)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Downloads only the files `wanted` (indexes) of torrent `id`.
    private static func select(_ wanted: Set<Int>, of id: Int64, in store: BtqStore) throws {
        let files = try store.queries.files(torrentId: id)
        try store.queries.setFilePriorities(
            torrentId: id, Dictionary(uniqueKeysWithValues: files.map { ($0.index, wanted.contains($0.index) ? 4 : 0) })
        )
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
                records.append(try database.queries.resolve(source))
            }
        }
        let saveDirectory = absolutePath(dir ?? FileManager.default.currentDirectoryPath)
        for (_, source) in newSources {
            switch try database.adder.add(NewTorrent(source: source, saveDirectory: saveDirectory)) {
            case .added(let record), .duplicate(let record):
                if !records.contains(where: { $0.id == record.id }) { records.append(record) }
            }
        }
        return records
    }

    /// A progress line per named torrent, every second, until cancelled; then each one's last line.
    private static func showProgress(_ manager: QueueManager, ids: [Int64], store: BtqStore) async {
        var lines = Dictionary(uniqueKeysWithValues: ids.map { ($0, ProgressLine()) })
        var last: [Int64: (name: String, progress: QueueProgress)] = [:]
        while !Task.isCancelled {
            let now = await manager.progress()
            for id in ids {
                guard let progress = now[id] else { continue }
                let name = (try? store.queries.torrent(id: id))?.shownName ?? "#\(id)"
                last[id] = (name, progress)
                lines[id]?.show(name: name, progress)
            }
            try? await Task.sleep(for: .seconds(1))
        }
        for id in ids {
            guard let (name, progress) = last[id] else { continue }
            lines[id]?.show(name: name, progress, final: true)
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
