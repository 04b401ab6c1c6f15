import Foundation

/// `web_seed_server.py`: a Python HTTP/1.1 server with Range support on 127.0.0.1 that serves a folder
/// as a web seed (BEP 19), and misbehaves when asked.
struct WebSeedServer: Sendable {
    /// How the server misbehaves.
    enum Behaviour: Sendable {
        case honest
        /// Inverts `length` bytes of the file at `path` (below the root) from `offset`.
        case corrupt(path: String, offset: Int, length: Int)
        /// Ignores Range: answers 200 and streams bytes without end.
        case ignoreRangeEndless
        /// Reads requests and never answers.
        case silent
    }

    let process: ChildProcess
    let port: UInt16
    /// One JSON line per request served.
    let log: URL

    /// The base URL for a torrent whose content is directly below the served root.
    var url: String { "http://127.0.0.1:\(port)/" }

    /// Starts serving `root` and waits until it listens.
    static func start(
        in scenario: Scenario, root: URL, behaviour: Behaviour = .honest, rate: Int = 0, busy: Int = 0,
        redirect: Bool = false, name: String = "web seed"
    ) async throws -> WebSeedServer {
        let port = try FreePort.next()
        let work = try scenario.folder("web-\(port)")
        let ready = work.appendingPathComponent("ready")
        let log = work.appendingPathComponent("requests.jsonl")
        var arguments = [
            E2E.supportDirectory.appendingPathComponent("web_seed_server.py").path, "--root", root.path, "--port",
            "\(port)", "--ready", ready.path, "--log", log.path, "--timeout", "900",
        ]
        switch behaviour {
        case .honest: break
        case .corrupt(let path, let offset, let length): arguments += ["--corrupt", "\(path):\(offset):\(length)"]
        case .ignoreRangeEndless: arguments.append("--ignore-range-endless")
        case .silent: arguments.append("--silent")
        }
        if rate > 0 { arguments += ["--rate", "\(rate)"] }
        if busy > 0 { arguments += ["--busy", "\(busy)"] }
        if redirect { arguments.append("--redirect") }
        let child = try scenario.start(name, E2E.python, arguments)
        try await child.waitUntil("its ready file", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return WebSeedServer(process: child, port: port, log: log)
    }

    /// The requests it logged (answered ones), as dictionaries.
    func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}
