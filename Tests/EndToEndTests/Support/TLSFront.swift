import Foundation

/// `Support/tls_front.py` on 127.0.0.1: a TLS server (Python's `ssl` module) with a certificate from
/// a ``TestCA``, in front of a plain HTTP server (a reverse proxy) or misbehaving after the handshake.
struct TLSFront: Sendable {
    /// What it does once a client's TLS handshake is done.
    enum Mode: String, Sendable, CaseIterable {
        /// Forwards the request to the upstream port and relays the reply.
        case proxy
        /// Never answers.
        case silent
        /// `200 OK` without a length, then endless body bytes.
        case flood
        /// `200 OK`, then one endless header line.
        case headers
    }

    /// What it counted so far.
    struct Stats: Sendable, Decodable, CustomStringConvertible {
        /// TCP connections accepted.
        let connections: Int
        /// TLS handshakes completed.
        let handshakes: Int
        /// Connections over (closed by the client, or a failed handshake).
        let ended: Int
        /// Bytes of HTTP it sent (inside TLS).
        let sent: Int

        var description: String {
            "\(connections) connections, \(handshakes) handshakes, \(ended) ended, \(sent) bytes sent"
        }
    }

    let process: ChildProcess
    let port: UInt16
    let statsFile: URL

    /// `https://HOST:PORT/announce` (the host as the client names it: `127.0.0.1` or `localhost`).
    func announce(host: String = "127.0.0.1") -> String { "https://\(host):\(port)/announce" }

    /// Starts it with `certificate` in `mode` (`upstream`: the plain HTTP port a proxy forwards to) and
    /// waits until it listens.
    static func start(
        in scenario: Scenario, certificate: TestCA.ServerCertificate, mode: Mode, upstream: UInt16? = nil
    ) async throws -> TLSFront {
        let port = try FreePort.next()
        let work = try scenario.folder("tls-front-\(port)")
        let ready = work.appendingPathComponent("ready")
        let stats = work.appendingPathComponent("stats.json")
        var arguments = [
            E2E.supportDirectory.appendingPathComponent("tls_front.py").path, "--port", "\(port)", "--cert",
            certificate.certificate.path, "--key", certificate.key.path, "--ready", ready.path, "--stats",
            stats.path, "--mode", mode.rawValue, "--timeout", "600",
        ]
        if let upstream { arguments += ["--upstream", "\(upstream)"] }
        let child = try scenario.start("tls front \(mode.rawValue)", E2E.python, arguments)
        try await child.waitUntil("its ready file (listening)", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return TLSFront(process: child, port: port, statsFile: stats)
    }

    /// Its latest counts (`nil` before the first write).
    func stats() -> Stats? {
        guard let data = try? Data(contentsOf: statsFile) else { return nil }
        return try? JSONDecoder().decode(Stats.self, from: data)
    }
}
