import Foundation
import TestSupport

/// A small DHT network of libtorrent sessions (`Support/lt_dht.py`): `nodes` sessions on
/// 127.0.0.2, 127.0.0.3, ... sharing one port, each bootstrapped from the first; the last seeds the
/// given torrents (no tracker: the DHT is their only peer source). Or, with a leecher, one more
/// session bootstrapped only from a given node that fetches a magnet's metadata and data.
struct LibtorrentDHT: Sendable {
    let process: ChildProcess
    /// The port every session of it listens on (TCP and UDP).
    let port: UInt16
    let work: URL

    /// The first session's DHT node, `127.0.0.2:PORT`: the one to bootstrap from.
    var bootstrapNode: String { "127.0.0.2:\(port)" }

    /// Starts `nodes` sessions, the last seeding `torrents` from `data`; returns once the first knows a
    /// node and the seeds are checked and announced.
    static func start(
        in scenario: Scenario, nodes: Int = 4, seeding torrents: [TestTorrent] = [], data: URL? = nil
    ) async throws -> LibtorrentDHT {
        let port = try FreePort.next()
        let work = try scenario.folder("lt-dht-\(port)")
        let ready = work.appendingPathComponent("ready.json")
        var arguments = [
            E2E.supportDirectory.appendingPathComponent("lt_dht.py").path, "--nodes", "\(nodes)", "--port",
            "\(port)", "--ready", ready.path, "--status", work.appendingPathComponent("status.json").path,
            "--timeout", "600",
        ]
        for torrent in torrents { arguments += ["--seed", torrent.url.path] }
        if let data { arguments += ["--data", data.path] }
        let child = try scenario.start("libtorrent DHT", E2E.python, arguments)
        try await child.waitUntil("its DHT network (seeds checked)", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return LibtorrentDHT(process: child, port: port, work: work)
    }

    /// What the leecher reports when it has every piece.
    struct Done: Decodable, Sendable {
        struct Peer: Decodable, Sendable {
            let ip: String
            let port: Int
            let downloaded: Int
        }
        /// Seconds from its start.
        let seconds: Double
        let peers: [Peer]
    }

    /// Starts one libtorrent session on 127.0.0.2 (its own port) bootstrapped only from `bootstrap`,
    /// downloading the torrent of the v1 `infoHash` (hex) as a magnet without trackers into `directory`.
    static func leech(
        in scenario: Scenario, infoHash: String, bootstrap: String, into directory: URL
    ) async throws -> (LibtorrentDHT, done: URL) {
        let port = try FreePort.next()
        let work = try scenario.folder("lt-dht-leech-\(port)")
        let ready = work.appendingPathComponent("ready.json")
        let done = work.appendingPathComponent("done.json")
        let arguments = [
            E2E.supportDirectory.appendingPathComponent("lt_dht.py").path, "--nodes", "0", "--port", "\(port)",
            "--ready", ready.path, "--status", work.appendingPathComponent("status.json").path, "--timeout", "600",
            "--leech", infoHash, "--leech-bootstrap", bootstrap, "--out", directory.path, "--done", done.path,
        ]
        let child = try scenario.start("libtorrent DHT leecher", E2E.python, arguments)
        try await child.waitUntil("the leecher started", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return (LibtorrentDHT(process: child, port: port, work: work), done)
    }
}
