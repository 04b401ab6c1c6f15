import Foundation
import Synchronization

/// What the RPC server's connections share: the dispatcher and the metrics, and who may talk to the
/// server (the settings, the gate) and the web interface's folder, which the running server may be given
/// anew (``update(_:)``) without dropping a connection. Each request reads them once, at its head.
final class RPCServices: Sendable {
    /// The settings in force, and what is made of them.
    struct Access: Sendable {
        let settings: RPCSettings
        let gate: RPCGate
        let web: RPCWebFiles?

        init(settings: RPCSettings, sessionID: String) {
            self.settings = settings
            gate = RPCGate(settings: settings, sessionID: sessionID)
            web = settings.webDirectory.flatMap { RPCWebFiles(folder: $0) }
        }
    }

    let dispatcher: RPCDispatcher
    let backend: any RPCBackend
    /// The session id, kept over every change of the settings (a client keeps the one it was given).
    let sessionID: String
    private let access: Mutex<Access>

    init(settings: RPCSettings, dispatcher: RPCDispatcher, backend: any RPCBackend, sessionID: String) {
        self.dispatcher = dispatcher
        self.backend = backend
        self.sessionID = sessionID
        access = Mutex(Access(settings: settings, sessionID: sessionID))
    }

    /// The settings, gate and web folder in force now.
    var current: Access { access.withLock { $0 } }

    /// Puts `settings` in force for the requests that come next.
    func update(_ settings: RPCSettings) {
        let fresh = Access(settings: settings, sessionID: sessionID)
        access.withLock { $0 = fresh }
    }

    /// The metrics in Prometheus' text format.
    func metricsText() async -> [UInt8] {
        do {
            return RPCMetrics.text(try await backend.statistics())
        } catch {
            return Array("# btq: metrics unavailable: \(error)\n".utf8)
        }
    }

    /// A file of the web interface in `web`, `nil` when there is none at `path`.
    func webFile(_ path: String, in web: RPCWebFiles?) async -> RPCWebFiles.File? {
        guard let web else { return nil }
        return web.file(at: path)
    }
}
