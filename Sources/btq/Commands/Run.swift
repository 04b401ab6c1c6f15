import ArgumentParser
import Engine
import Foundation
import Logging
import Store

/// `btq run`: the daemon that works the queue.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Work the queue: download queued torrents a few at a time and seed finished ones, until stopped (Ctrl-C).",
        discussion: """
            Torrents added, paused, removed or moved with the other commands while it runs take effect \
            within a second. One daemon per database: a second one is refused. The number of \
            simultaneous downloads is --max-active, else the database setting max_active_downloads, else 3. \
            A finished download goes on seeding (up to max_active_seeds at once) until seed_ratio_limit or \
            seed_time_limit is reached, then becomes completed. Incoming peers are accepted on --port for \
            every active torrent.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Most torrents downloading at once.")
    var maxActive: Int?

    @Option(name: .long, help: "Most peer connections over all torrents, shared among the active ones.")
    var maxPeers = 200

    @OptionGroup var peerOptions: PeerOptions

    @Flag(name: .long, help: "Serve the Transmission RPC, its web interface and metrics (see the rpc_* settings).")
    var rpc = false

    @Option(name: .long, help: "The RPC server's port (else the setting rpc_port, else 9091).")
    var rpcPort: Int?

    func validate() throws {
        if let maxActive, maxActive < 1 { throw ValidationError("--max-active must be at least 1.") }
        guard maxPeers >= 1 else { throw ValidationError("--max-peers must be at least 1.") }
        if let rpcPort, !(0...65535).contains(rpcPort) { throw ValidationError("--rpc-port must be 0...65535.") }
    }

    func run() async throws {
        let path = store.databasePath()
        let lock = try DaemonLock(databasePath: path)
        defer { withExtendedLifetime(lock) {} }
        // Trapped from the start: a SIGTERM while the daemon is still starting (listening, the DHT, the
        // RPC server) stops it cleanly once the queue runs, rather than ending the process at once.
        let stopRequest = StopRequest()
        let trap = SignalTrap { _ in stopRequest.request() }
        defer { withExtendedLifetime(trap) {} }
        let database = try store.openStore()
        var logger = Logger(label: "btq")
        logger.logLevel =
            ProcessInfo.processInfo.environment["BTQ_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let settings = TransferSettings(store: database.ports)
        try settings.checkTransports()
        let processRun = try ProcessRun(store: database.ports)
        let port = peerOptions.port ?? settings.listenPort
        let registry = SessionRegistry()
        var configuration = SessionConfiguration(listenPort: port)
        configuration.memoryBudget = settings.memoryBudget()
        configuration.openFiles = OpenFileBudget(limit: settings.maxOpenFiles)
        configuration.startChecks = TurnGate(limit: TurnGate.startChecks)
        settings.applyDialling(to: &configuration)
        configuration.webSeeds.connections = settings.webSeedConnections
        configuration.webSeeds.tls = settings.tls
        configuration.encryption = PeerEncryption(policy: settings.encryption)
        let listener = await Listening.start(
            host: peerOptions.bindAddress ?? settings.bindAddress, port: port, registry: registry,
            budget: configuration.memoryBudget, encryption: settings.encryption, tcp: settings.tcpEnabled,
            utp: settings.utpEnabled)
        defer { listener?.close() }
        configuration.listenPort = Listening.announcedPort(listener)
        configuration.transports = PeerTransports(
            tcp: settings.tcpEnabled, utp: settings.utpEnabled, sockets: listener?.utpSockets ?? [])
        let trackers = TrackerClient(tls: settings.tls)
        let dht = await DHTStarting.start(
            settings: settings, bindAddress: peerOptions.bindAddress ?? settings.bindAddress,
            port: configuration.listenPort == 0 ? port : configuration.listenPort, store: database.dht,
            shared: listener?.utpSocketsByHost ?? [:])
        let workers = StoreWorkers(
            store: database.ports, trackers: trackers, registry: registry, dht: dht, logger: logger)
        let manager = QueueManager(
            store: database.ports, workers: workers, configuration: configuration, maxActive: maxActive,
            peers: peerOptions.peerAddresses, maxPeersOverall: maxPeers, processRun: processRun, logger: logger)
        var server: RPCStarting.Running?
        if RPCStarting.wanted(flag: rpc, store: database) {
            do {
                server = try await RPCStarting.start(
                    store: database, manager: manager, dht: dht, peerPort: Int(configuration.listenPort),
                    portOverride: rpcPort)
            } catch {
                // Nothing was worked: the run ends as cleanly as it began.
                processRun.end(clean: true)
                await dht?.close()
                await trackers.shutdown()
                throw error
            }
        }
        stopRequest.whenRequested { Task { await manager.stop() } }
        FileHandle.standardError.write(Data("btq: working the queue in \(path) (pid \(getpid()))\n".utf8))
        await manager.run { line in
            let stamp = Formatting.date(Date())
            FileHandle.standardOutput.write(Data("\(stamp) \(TerminalText.clean(line))\n".utf8))
        }
        await server?.close()
        await dht?.close()
        await trackers.shutdown()
        FileHandle.standardError.write(Data("btq: stopped; progress saved\n".utf8))
    }
}
