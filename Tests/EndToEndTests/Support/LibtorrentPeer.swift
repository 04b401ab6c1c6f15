import Foundation
import TestSupport

/// What `lt_seed.py` reports about itself (its ready, done and status files).
struct LibtorrentStatus: Decodable, Sendable {
    struct Peer: Decodable, Sendable {
        let ip: String
        let port: Int
        let client: String
        let pid: String
        let seed: Bool
        let uploaded: Int
        let downloaded: Int
        let hashfails: Int
        /// Connected over uTP / with an RC4 payload (absent in reports of older scripts).
        let utp: Bool?
        let rc4: Bool?
    }
    struct Torrent: Decodable, Sendable {
        let name: String
        let state: String
        let progress: Double
        /// One character per piece, `1` for a piece it has.
        let pieces: String
        let isSeeding: Bool
        let isFinished: Bool
        /// Payload bytes sent / received.
        let uploaded: Int
        let downloaded: Int
        let failedBytes: Int
        let error: String
        let peers: [Peer]
    }
    let pid: Int
    /// When it was written (seconds since 1970).
    let time: Double
    let torrents: [Torrent]

    static func read(_ url: URL) throws -> LibtorrentStatus {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(LibtorrentStatus.self, from: Data(contentsOf: url))
    }
}

/// A libtorrent seeder (`Support/lt_seed.py seed`, Debian's python3-libtorrent) on 127.0.0.1 (or on
/// the loopback addresses it is told, `::1` among them).
///
/// DHT, LSD, UPnP, NAT-PMP, PEX (unless asked) and uTP are off; plaintext handshakes; several connections per IP
/// allowed (every peer is 127.0.0.1). Ready once its data is hash-checked.
struct LibtorrentSeeder: Sendable {
    let process: ChildProcess
    /// Its listening port.
    let port: UInt16
    /// Rewritten every 0.5 s with a ``LibtorrentStatus``.
    let statusFile: URL
    /// The addresses it listens on, each at ``port``.
    var listen = ["127.0.0.1"]
    /// `127.0.0.1:PORT` (or `[::1]:PORT` when that is the first address it listens on), for `--peer`.
    var address: String { Self.address(listen[0], port) }

    /// `host:port`, with brackets around an IPv6 address.
    static func address(_ host: String, _ port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Starts seeding `torrents` from `content` (their save path) and waits until it is ready.
    ///
    /// - Parameters:
    ///   - have: one `0`/`1` per piece: seed only the pieces marked `1` (a copy of the data with the
    ///     other pieces zeroed; libtorrent's check finds what it has; upload mode, so it never fills
    ///     its gaps from other peers). Only with a single torrent.
    ///   - uploadRate: bytes per second this seeder sends at most (0: unlimited).
    ///   - peers: `HOST:PORT` addresses it dials (again every few seconds until connected).
    ///   - pex: peer exchange on.
    ///   - keepRedundant: keep connections between two upload-only peers (partial seeders).
    ///   - listen: the addresses it listens on (`127.0.0.1`, `::1`).
    ///   - uploadLog: a file it appends `PIECE BLOCK` to for every block it sends, in order.
    ///   - encryptionForced: MSE/PE with RC4 both ways, plaintext peers refused (else plaintext only).
    ///   - transport: `tcp` (TCP only, the default), `utp` (uTP only, in and out) or `both`.
    static func start(
        in scenario: Scenario, name: String = "libtorrent seeder", torrents: [TestTorrent], data: URL,
        have: String? = nil, uploadRate: Int = 0, peers: [String] = [], pex: Bool = false,
        keepRedundant: Bool = false, listen: [String] = ["127.0.0.1"], uploadLog: URL? = nil,
        encryptionForced: Bool = false, port: UInt16? = nil, transport: String = "tcp"
    ) async throws -> LibtorrentSeeder {
        let port = try port ?? FreePort.next()
        let work = try scenario.folder("lt-\(port)")
        let ready = work.appendingPathComponent("ready.json")
        let status = work.appendingPathComponent("status.json")
        var arguments = [
            E2E.supportDirectory.appendingPathComponent("lt_seed.py").path, "seed", "--port", "\(port)",
            "--data", data.path, "--ready", ready.path, "--status", status.path, "--timeout", "900",
        ]
        if let have { arguments += ["--have", have, "--work", work.path] }
        if uploadRate > 0 { arguments += ["--upload-rate", "\(uploadRate)"] }
        for peer in peers { arguments += ["--peer", peer] }
        if pex { arguments.append("--pex") }
        if keepRedundant { arguments.append("--keep-redundant") }
        if let uploadLog { arguments += ["--upload-log", uploadLog.path] }
        if encryptionForced { arguments += ["--encryption", "forced"] }
        arguments += ["--transport", transport]
        for host in listen { arguments += ["--listen", host] }
        arguments += torrents.map(\.url.path)
        let child = try scenario.start(name, E2E.python, arguments)
        try await child.waitUntil("its ready file (data hash-checked)", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return LibtorrentSeeder(process: child, port: port, statusFile: status, listen: listen)
    }

    /// Its latest status report.
    func status() throws -> LibtorrentStatus { try LibtorrentStatus.read(statusFile) }

    /// Its first torrent's status from a report written after `date` for which `condition` holds, or
    /// the last one written after `date` if none does within `timeout`.
    func status(
        after date: Date, timeout: Duration = .seconds(5),
        _ condition: @escaping @Sendable (LibtorrentStatus.Torrent) -> Bool = { _ in true }
    ) async throws -> LibtorrentStatus.Torrent {
        let since = date.timeIntervalSince1970
        var latest: LibtorrentStatus.Torrent?
        try await poll(timeout: timeout, interval: .milliseconds(100)) {
            guard let report = try? status(), report.time >= since, let torrent = report.torrents.first else {
                return false
            }
            latest = torrent
            return condition(torrent)
        }
        guard let latest else {
            throw HarnessError("no status report from \(process.name) after \(date)\n\(process.logTail())")
        }
        return latest
    }
}

/// A libtorrent leecher (`Support/lt_seed.py leech`): downloads one torrent from the tracker's peers
/// and the given addresses into a folder, then seeds it.
struct LibtorrentLeecher: Sendable {
    let process: ChildProcess
    let port: UInt16
    /// Written (a ``LibtorrentStatus``) once every piece is verified.
    let doneFile: URL
    let statusFile: URL

    static func start(
        in scenario: Scenario, name: String = "libtorrent leecher", torrent: TestTorrent, into directory: URL,
        peers: [String] = [], listen: [String] = ["127.0.0.1"], encryptionForced: Bool = false,
        transport: String = "tcp"
    ) throws -> LibtorrentLeecher {
        try start(
            in: scenario, name: name, source: torrent.url.path, into: directory, peers: peers, listen: listen,
            encryptionForced: encryptionForced, transport: transport)
    }

    /// Starts a leecher of a magnet link (`magnet`): it fetches the metadata from its peers, and for a
    /// v2 torrent the piece layers too (BEP 52 hash requests).
    static func start(
        in scenario: Scenario, name: String = "libtorrent leecher", magnet: String, into directory: URL,
        peers: [String] = [], listen: [String] = ["127.0.0.1"]
    ) throws -> LibtorrentLeecher {
        try start(
            in: scenario, name: name, source: magnet, into: directory, peers: peers, listen: listen,
            encryptionForced: false, transport: "tcp")
    }

    private static func start(
        in scenario: Scenario, name: String, source: String, into directory: URL, peers: [String], listen: [String],
        encryptionForced: Bool, transport: String
    ) throws -> LibtorrentLeecher {
        let port = try FreePort.next()
        let work = try scenario.folder("lt-\(port)")
        let done = work.appendingPathComponent("done.json")
        let status = work.appendingPathComponent("status.json")
        var arguments = [
            E2E.supportDirectory.appendingPathComponent("lt_seed.py").path, "leech", "--port", "\(port)",
            "--out", directory.path, "--done", done.path, "--status", status.path, "--timeout", "900",
        ]
        for peer in peers { arguments += ["--peer", peer] }
        for host in listen { arguments += ["--listen", host] }
        if encryptionForced { arguments += ["--encryption", "forced"] }
        arguments += ["--transport", transport]
        arguments.append(source)
        let child = try scenario.start(name, E2E.python, arguments)
        return LibtorrentLeecher(process: child, port: port, doneFile: done, statusFile: status)
    }

    /// Waits until it reports the download complete (every piece verified). When it does not, the
    /// error tells how far it got and from whom (a stall and a peer never reached look alike otherwise).
    func waitUntilComplete(timeout: Duration = E2E.downloadTimeout) async throws {
        do {
            try await process.waitUntil("a complete download", timeout: timeout) {
                FileManager.default.fileExists(atPath: doneFile.path)
            }
        } catch {
            guard let torrent = try? status().torrents.first else { throw error }
            let peers = torrent.peers.map { "\($0.ip):\($0.port) got \($0.downloaded) bytes" }
            throw HarnessError(
                "\(error)\nits last status: \(torrent.state), progress \(torrent.progress), pieces \(torrent.pieces), "
                    + "peers [\(peers.joined(separator: ", "))]")
        }
    }

    /// Its latest status report.
    func status() throws -> LibtorrentStatus { try LibtorrentStatus.read(statusFile) }
}
