import Engine
import Foundation

/// Opens the process's listening socket for incoming peers.
enum Listening {
    /// Binds `host:port` and runs the accept loop in a task; on failure prints why on stderr and
    /// returns `nil` (btq still works, by dialling peers only).
    static func start(
        host: String, port: UInt16, registry: SessionRegistry, budget: PeerMemoryBudget
    ) async -> PeerListener? {
        do {
            let listener = try await PeerListener.bind(host: host, port: port, registry: registry, budget: budget)
            Task { await listener.run() }
            return listener
        } catch {
            FileHandle.standardError.write(
                Data("btq: cannot listen on \(host):\(port) (\(error)); only outgoing connections\n".utf8))
            return nil
        }
    }
}
