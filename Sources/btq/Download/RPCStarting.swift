import Engine
import Foundation
import Store

/// Starts the RPC server of `btq run` when `--rpc` or the setting `rpc_enabled` asks for it.
enum RPCStarting {
    /// The server's settings from the store (`rpc_*`).
    static func settings(_ store: BtqStore) throws -> RPCSettings {
        let values = try store.settings.all()
        var settings = RPCSettings()
        if let address = values[RPCSettings.bindAddressKey], !address.isEmpty { settings.bindAddress = address }
        if let port = values[RPCSettings.portKey].flatMap(Int.init) { settings.port = port }
        settings.username = values[RPCSettings.usernameKey] ?? ""
        if let stored = values[RPCSettings.passwordKey], !stored.isEmpty {
            guard let password = RPCPassword(stored: stored) else {
                throw UserError(
                    "rpc_password is damaged in the database; set it again with `btq config set rpc_password`")
            }
            settings.password = password
        }
        settings.whitelist = (values[RPCSettings.whitelistKey] ?? "").split(separator: ",").map(String.init)
        let web = values[RPCSettings.webDirectoryKey].flatMap { $0.isEmpty ? nil : $0 }
        settings.webDirectory = web ?? RPCSettings.distributionWebDirectory
        return settings
    }

    /// True when the RPC server is to run: `--rpc`, or `rpc_enabled` on.
    static func wanted(flag: Bool, store: BtqStore) -> Bool {
        flag || (try? store.settings.value(RPCSettings.enabledKey)) == "on"
    }

    /// The running server and the task that follows its settings.
    struct Running: Sendable {
        let server: RPCServer
        let follower: Task<Void, Never>

        /// Stops following the settings and closes the server.
        func close() async {
            follower.cancel()
            await follower.value
            await server.close()
        }
    }

    /// Starts the server, prints its URL on stderr and follows its settings (``RPCSettingsFollower``).
    static func start(
        store: BtqStore, manager: QueueManager, dht: DHTNodes?, peerPort: Int, portOverride: Int?
    ) async throws -> Running {
        var settings = try settings(store)
        if let portOverride { settings.port = portOverride }
        let backend = try StoreRPCBackend(
            store: store, manager: manager, dht: dht, downloadDirectory: FileManager.default.currentDirectoryPath,
            peerPort: peerPort, rpcPort: settings.port)
        let server: RPCServer
        do {
            server = try await RPCServer.start(settings: settings, backend: backend)
        } catch let error as RPCServer.StartError {
            throw UserError(error.description)
        }
        let follower = RPCSettingsFollower(store: store, server: server, portOverride: portOverride)
        let started = settings
        let task = Task { await follower.run(from: started) }
        settings.port = server.port
        let web = settings.webDirectory.flatMap { RPCWebFiles(folder: $0) }
        let auth = settings.password == nil ? "no password" : "basic authentication"
        let webNote = web.map { "web interface from \($0.root)" } ?? "no web interface (rpc_web_dir not found)"
        FileHandle.standardError.write(
            Data("btq: Transmission RPC on \(settings.url)rpc (\(auth); \(webNote); metrics at /metrics)\n".utf8))
        return Running(server: server, follower: task)
    }
}
