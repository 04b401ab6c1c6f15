import Engine
import Foundation

/// Starts the process's DHT nodes (one per address family) when the `dht` setting is on.
enum DHTStarting {
    /// Binds a node for each family that `bindAddress` allows (the default `0.0.0.0`: IPv4 and IPv6)
    /// on UDP port `port` (the listen port), else on any free port; runs them in a task; prints where
    /// on stderr. `nil` when the setting is off or nothing could be bound (said on stderr). A node
    /// whose address has a socket in `shared` (the listener's uTP sockets) reads and sends on it
    /// instead of binding its own.
    static func start(
        settings: TransferSettings, bindAddress: String, port: UInt16, store: (any DHTStateStore)?,
        shared: [String: UTPSocket] = [:]
    ) async -> DHTNodes? {
        guard settings.dhtEnabled else { return nil }
        var hosts: [(DHTFamily, String)] = []
        if bindAddress == "0.0.0.0" || bindAddress == "::" {
            hosts = [(.ipv4, "0.0.0.0"), (.ipv6, "::")]
        } else {
            hosts = [(bindAddress.contains(":") ? .ipv6 : .ipv4, bindAddress)]
        }
        var nodes: [MainlineDHT] = []
        for (family, host) in hosts {
            var configuration = MainlineDHT.Configuration(family: family, host: host, port: port)
            configuration.readOnly = settings.dhtReadOnly
            configuration.bootstrapNodes = settings.dhtBootstrapNodes
            do {
                let node: MainlineDHT
                if let socket = shared[host] {
                    configuration.port = socket.port
                    node = try await MainlineDHT.start(configuration, store: store, shared: socket)
                } else {
                    node = try await start(configuration, store: store, port: port)
                }
                nodes.append(node)
                let mode = settings.dhtReadOnly ? " (read-only)" : ""
                let sharing = shared[host] == nil ? "" : ", shared with uTP"
                FileHandle.standardError.write(Data("btq: DHT node\(mode) on \(node.address) (UDP\(sharing))\n".utf8))
            } catch {
                // A machine without IPv6 has no IPv6 node; that is no failure.
                guard family == .ipv4 || hosts.count == 1 else { continue }
                FileHandle.standardError.write(Data("btq: no DHT node on \(host): \(error)\n".utf8))
            }
        }
        guard !nodes.isEmpty else { return nil }
        let dht = DHTNodes(nodes)
        Task { await dht.run() }
        return dht
    }

    /// A node with its own socket: on `port`, else on any free port.
    private static func start(
        _ configuration: MainlineDHT.Configuration, store: (any DHTStateStore)?, port: UInt16
    ) async throws -> MainlineDHT {
        var configuration = configuration
        do {
            return try await MainlineDHT.start(configuration, store: store)
        } catch  where port != 0 {
            configuration.port = 0
            return try await MainlineDHT.start(configuration, store: store)
        }
    }
}
