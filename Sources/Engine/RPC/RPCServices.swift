import Foundation

/// What the RPC server's connections share: the settings, the gate, the dispatcher, the metrics and the
/// web interface's folder.
struct RPCServices: Sendable {
    let settings: RPCSettings
    let gate: RPCGate
    let dispatcher: RPCDispatcher
    let backend: any RPCBackend
    let web: RPCWebFiles?

    /// The metrics in Prometheus' text format.
    func metricsText() async -> [UInt8] {
        do {
            return RPCMetrics.text(try await backend.statistics())
        } catch {
            return Array("# btq: metrics unavailable: \(error)\n".utf8)
        }
    }

    /// A file of the web interface, `nil` when there is none at `path`.
    func webFile(_ path: String) async -> RPCWebFiles.File? {
        guard let web else { return nil }
        return web.file(at: path)
    }
}
