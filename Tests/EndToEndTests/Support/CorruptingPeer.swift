import Foundation

/// A test peer (`Support/corrupt_peer.py`, standard library only) that has every piece and answers
/// requests with the real bytes, except that every block of a piece whose index % `modulus` ==
/// `remainder` comes back with all its bits inverted (or, with `corruptOnceAfter`, only one block:
/// the first holding file data after that many right ones). It only accepts incoming connections, on
/// 127.0.0.1.
struct CorruptingPeer: Sendable {
    /// What it has done so far.
    struct Stats: Decodable, Sendable {
        let connections: Int
        let handshakes: Int
        let goodBlocks: Int
        let corruptBlocks: Int
        /// BEP 52 hash requests it received, and (wrong) answers it sent, under `hashes`.
        let hashRequests: Int
        let hashesSent: Int
        /// ut_metadata pieces it served, under `hashes`.
        let metadataPieces: Int
        /// Peer ids (hex) of the peers that completed a handshake.
        let peerIds: [String]
    }

    let process: ChildProcess
    let port: UInt16
    let statsFile: URL
    /// `127.0.0.1:PORT`, for `--peer`.
    var address: String { "127.0.0.1:\(port)" }

    /// How it answers BEP 52 hash requests, when it serves the metadata too (`--hashes`).
    enum Hashes: String, Sendable {
        /// As many hashes as asked for, random.
        case lie
        /// More hashes than any answer may hold.
        case oversized
        /// The true leaves of the block layer (`hash reject` for anything else).
        case honest
    }

    static func start(
        in scenario: Scenario, torrent: TestTorrent, data: URL, modulus: Int = 3, remainder: Int = 0,
        hashes: Hashes? = nil, corruptOnceAfter: Int? = nil, blockDelay: Double? = nil
    ) async throws -> CorruptingPeer {
        let port = try FreePort.next()
        let work = try scenario.folder("corrupt-\(port)")
        let ready = work.appendingPathComponent("ready")
        let stats = work.appendingPathComponent("stats.json")
        var arguments = [
            E2E.supportDirectory.appendingPathComponent("corrupt_peer.py").path, "--port", "\(port)",
            "--torrent", torrent.url.path, "--data", data.path, "--ready", ready.path, "--stats", stats.path,
            "--corrupt-mod", "\(modulus)", "--corrupt-rem", "\(remainder)", "--timeout", "900",
        ]
        if let hashes { arguments += ["--hashes", hashes.rawValue] }
        if let corruptOnceAfter { arguments += ["--corrupt-once-after", "\(corruptOnceAfter)"] }
        if let blockDelay { arguments += ["--block-delay", "\(blockDelay)"] }
        let child = try scenario.start("corrupting peer", E2E.python, arguments)
        try await child.waitUntil("its ready file", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return CorruptingPeer(process: child, port: port, statsFile: stats)
    }

    func stats() throws -> Stats {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Stats.self, from: Data(contentsOf: statsFile))
    }
}
