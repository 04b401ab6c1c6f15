import Engine
import Foundation

/// Opens the process's listening socket for incoming peers.
enum Listening {
    /// Binds `host:port`, else one of the next ports (``ListenPortFallback``), else any free port, runs
    /// the accept loops in a task and prints the addresses bound on stderr (`listening on HOST:PORT`).
    /// An unspecified address (`0.0.0.0`, the default, or `::`) listens on both families: `0.0.0.0`
    /// and `::` on the same port; the IPv6 one is noted, never required (a machine without IPv6). When
    /// nothing can be bound it prints why and returns `nil`: btq still works by dialling peers, and
    /// announces port 0 (no incoming connections), never a port nobody listens on.
    static func start(
        host: String, port: UInt16, registry: SessionRegistry, budget: PeerMemoryBudget,
        encryption: EncryptionPolicy = .prefer, tcp: Bool = true, utp: Bool = false
    ) async -> PeerListener? {
        let fallback = ListenPortFallback(preferred: port)
        let hosts = hosts(for: host)
        do {
            let bound = try await fallback.bind { candidate in
                try await PeerListener.bind(
                    hosts: hosts, port: candidate, registry: registry, budget: budget, encryption: encryption, tcp: tcp,
                    utp: utp)
            }
            let listener = bound.value
            Task { await listener.run() }
            let over = [tcp ? "TCP" : nil, utp ? "uTP" : nil].compactMap { $0 }.joined(separator: " and ")
            var line =
                "btq: listening on \(listener.hosts.map { Self.address($0, listener.port) }.joined(separator: " and "))"
                + " (\(over))"
            if let failure = bound.preferredFailure {
                line += " (port \(port) is not available: \(failure))"
            }
            for (host, reason) in listener.unbound {
                line += " (not on \(Self.address(host, listener.port)): \(reason))"
            }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            return listener
        } catch {
            FileHandle.standardError.write(
                Data(
                    "btq: cannot listen on \(host) (\(error)); only outgoing connections, and no port announced\n"
                        .utf8))
            return nil
        }
    }

    /// The addresses to bind for `host`: both unspecified ones for either unspecified address, else `host`.
    static func hosts(for host: String) -> [String] {
        host == "0.0.0.0" || host == "::" ? ["0.0.0.0", "::"] : [host]
    }

    /// The port to announce to trackers and peers: the one bound, or 0 (none) without a listener.
    static func announcedPort(_ listener: PeerListener?) -> UInt16 {
        listener?.port ?? 0
    }

    /// `host:port`, with brackets around an IPv6 address.
    static func address(_ host: String, _ port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
