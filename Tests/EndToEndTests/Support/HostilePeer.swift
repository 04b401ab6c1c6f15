import Engine
import Foundation
import Testing

/// A scripted misbehaving peer (`Support/hostile_peer.py`, standard library only) that dials a
/// program under test on 127.0.0.1 and attacks it in one ``Mode`` for a bounded time.
///
/// It dials from source addresses 127.0.0.2 and up (loopback: Linux routes all of 127.0.0.0/8 to
/// `lo`), so the honest peers of a test, on 127.0.0.1, keep an address of their own and a limit per
/// address cannot be met by the attacker's connections alone.
struct HostilePeer: Sendable {
    /// How it misbehaves.
    enum Mode: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Valid `request` messages while choked (Fast extension on), never reading the socket, on a
        /// small receive buffer: everything the program answers stays with the program.
        case requestFlood = "request-flood"
        /// ut_metadata requests for piece 0 and for pieces out of range, never reading.
        case metadataFlood = "metadata-flood"
        /// An empty bitfield, then `have` for every piece, over and over, never reading.
        case haveFlood = "have-flood"
        /// Frames announced at the largest accepted length (filled but for their last byte) and beyond
        /// it, then silence, held open.
        case hugePrefix = "huge-prefix"
        /// Many connections that send nothing or half a handshake, held open.
        case idle
        /// BEP 52 `hash request`s for a file of a v2 torrent (answerable ones, and some for an unknown
        /// root), never reading. Only for a v2 torrent: not among ``selected``.
        case hashRequestFlood = "hash-request-flood"

        var testDescription: String { rawValue }

        /// The modes the tests of any torrent run: all but ``hashRequestFlood``, or those named in
        /// `BTQ_E2E_HOSTILE` (comma-separated, e.g. `request-flood,idle`) to look at a few at a time.
        static let selected: [Mode] = {
            guard let names = ProcessInfo.processInfo.environment["BTQ_E2E_HOSTILE"], !names.isEmpty, names != "all"
            else {
                return allCases.filter { $0 != .hashRequestFlood }
            }
            return names.split(separator: ",").compactMap { Mode(rawValue: String($0)) }
        }()

        /// Connections it keeps open, and how many source addresses they share.
        ///
        /// Huge frames: 60 connections (a torrent's peer limit) from 10 addresses, 6 from each, below
        /// a limit per address of 8; half hold a frame of the largest accepted length (1 MiB), the
        /// other half announce a longer one and are refused. Idle: 200 connections from 4 addresses,
        /// which a limit per address has to keep from taking every place for a handshake.
        var connections: (count: Int, sources: Int) {
            switch self {
            case .requestFlood, .metadataFlood, .haveFlood, .hashRequestFlood: (4, 1)
            case .hugePrefix: (60, 10)
            case .idle: (200, 4)
            }
        }

        /// Bytes a second it sends at most, over all its connections: floods are paced (the machine
        /// runs the other tests too); huge frames go fast, so they are all held within a few seconds.
        var rate: Int {
            self == .hugePrefix ? 32 << 20 : 4 << 20
        }
    }

    /// What it has done so far (its stats file).
    struct Stats: Decodable, Sendable, CustomStringConvertible {
        let mode: String
        let elapsed: Double
        /// Dials that connected.
        let connects: Int
        let connectFailures: Int
        /// Handshakes the program answered.
        let handshakes: Int
        /// Connections the program closed or reset.
        let closed: Int
        /// Connections open now.
        let open: Int
        let bytesSent: Int
        let messagesSent: Int

        var description: String {
            "\(connects) connects (\(connectFailures) failed), \(handshakes) handshakes answered, \(closed) closed "
                + "by btq, \(open) open, \(messagesSent) messages / \(bytesSent) bytes sent in "
                + String(format: "%.1f", elapsed) + " s"
        }
    }

    let mode: Mode
    let process: ChildProcess
    let statsFile: URL

    /// Starts attacking 127.0.0.1:`port`, where a peer of `torrent` listens, for at most `duration`;
    /// returns once the attack is under way (a handshake was answered; `idle`: every connection
    /// connected). The handshake names the torrent as its peers do (a v2-only torrent by its truncated
    /// v2 hash). `hashes` names what a ``Mode/hashRequestFlood`` asks for: the file's `pieces root`,
    /// the layer and the count.
    static func start(
        _ mode: Mode, in scenario: Scenario, port: UInt16, torrent: TestTorrent, duration: Duration,
        hashes: (root: [UInt8], base: Int, length: Int)? = nil
    ) async throws -> HostilePeer {
        let infoHash = HexCoding.encode(torrent.metainfo.infoHashes.wireHash)
        let work = try scenario.folder("hostile-\(mode.rawValue)-\(port)")
        let ready = work.appendingPathComponent("ready")
        let stats = work.appendingPathComponent("stats.json")
        let child = try scenario.start(
            "hostile peer \(mode.rawValue)", E2E.python,
            [
                E2E.supportDirectory.appendingPathComponent("hostile_peer.py").path, "--port", "\(port)",
                "--info-hash", infoHash, "--pieces", "\(torrent.metainfo.pieceCount)", "--mode", mode.rawValue,
                "--ready", ready.path, "--stats", stats.path, "--connections", "\(mode.connections.count)",
                "--sources", "\(mode.connections.sources)", "--fill", "\(1 << 20)",
                "--rate", "\(mode.rate)",
                "--duration", "\(duration.components.seconds)",
            ]
                + (hashes.map {
                    ["--root", HexCoding.encode($0.root), "--base", "\($0.base)", "--length", "\($0.length)"]
                } ?? []))
        try await child.waitUntil("an attack under way (its ready file)", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: ready.path)
        }
        return HostilePeer(mode: mode, process: child, statsFile: stats)
    }

    /// Its latest stats.
    func stats() throws -> Stats {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Stats.self, from: Data(contentsOf: statsFile))
    }
}
