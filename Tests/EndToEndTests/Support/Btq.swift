import Engine
import Foundation
import Store
import Testing

/// A `.torrent` file made for a test, with what the harness needs to know about it.
struct TestTorrent: Sendable {
    /// The `.torrent` file.
    let url: URL
    /// Its parsed contents (btq's own parser: file order, piece layout, info-hashes).
    let metainfo: Metainfo

    /// The lines opentracker's whitelist needs: the v1 info-hash and the first 20 bytes of the v2 one.
    var whitelistEntries: [String] {
        [metainfo.infoHashes.v1?.hex, metainfo.infoHashes.v2.map { HexCoding.encode($0.truncated) }].compactMap { $0 }
    }

    /// The info-hash btq shows (v1 when there is one).
    var infoHash: String { metainfo.infoHashes.primaryHex }

    /// The index of the (non-pad) file whose path below the torrent's name is `path`, in torrent order.
    func fileIndex(of contentPath: String) throws -> Int {
        let target = Array(contentPath.utf8)
        guard
            let index = metainfo.files.firstIndex(where: {
                Array($0.path.joined(separator: "/").utf8) == target
            })
        else { throw HarnessError("\(contentPath) is not a file of \(url.lastPathComponent)") }
        return index
    }

    /// The pieces the byte range of file `index` touches.
    func pieces(ofFile index: Int) -> Range<Int> {
        let file = metainfo.files[index]
        guard file.length > 0 else { return 0..<0 }
        let length = Int64(metainfo.pieceLength)
        return Int(file.offset / length)..<Int((file.offset + file.length - 1) / length + 1)
    }
}

/// The `btq` command-line tool, run as a user would, with the test's own database (`BTQ_DB`).
struct Btq: Sendable {
    /// The option of `btq get` that names the files to download (comma-separated indexes, in
    /// torrent order); every other file is skipped. The one place its name is written.
    static let onlyFilesOption = "--only"

    /// The built `btq` binary: `BTQ_BIN`, else the first `btq` file found walking up from this test
    /// binary's folder (SwiftPM puts it next to the test bundle, because this target depends on it).
    static let executable: String = {
        if let path = ProcessInfo.processInfo.environment["BTQ_BIN"], !path.isEmpty { return path }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = me.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("btq")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue
            {
                return candidate.path
            }
            folder.deleteLastPathComponent()
        }
        fatalError("btq executable not found near \(me.path); set BTQ_BIN")
    }()

    let scenario: Scenario
    /// The database every command of this instance uses.
    let database: URL

    /// An instance with its own database, the DHT off (see ``useDHT(bootstrap:)``).
    init(_ scenario: Scenario) throws {
        self.scenario = scenario
        database = try scenario.folder("btq").appendingPathComponent("btq.sqlite")
        try useDHT(bootstrap: nil)
    }

    /// An instance with its own database at `database` (a second btq in the same test), the DHT off.
    init(_ scenario: Scenario, database: URL) throws {
        self.scenario = scenario
        self.database = database
        try useDHT(bootstrap: nil)
    }

    /// Turns the DHT on with `bootstrap` (loopback `host:port` nodes; empty: only the saved table),
    /// or off with `nil`. Never the public routers of the default setting.
    func useDHT(bootstrap: [String]?) throws {
        let settings = try store().settings
        try settings.set("dht", to: bootstrap == nil ? "off" : "on")
        try settings.set("dht_bootstrap_nodes", to: (bootstrap ?? []).joined(separator: ","))
    }

    /// Runs a short `btq` command; throws with its output unless it exits 0.
    @discardableResult
    func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> String {
        let name = "btq " + (arguments.first ?? "")
        let result = try await scenario.runTool(
            name, Self.executable, arguments, environment: ["BTQ_DB": database.path], timeout: timeout)
        guard result.status == 0 else {
            throw HarnessError(
                "`btq \(arguments.joined(separator: " "))` exited with status \(result.status):\n\(result.output)")
        }
        return result.output
    }

    /// `btq create` of `content` with 256 KiB pieces (unless told otherwise), announcing to `trackers`
    /// (one tier each), with `webSeeds` (BEP 19).
    func create(
        _ content: TestContent, trackers: [String], pieceSize: String = "256K", name: String? = nil,
        webSeeds: [String] = [],
        extra: [String] = []
    )
        async throws -> TestTorrent
    {
        let output = try scenario.folder("torrents").appendingPathComponent((name ?? content.name) + ".torrent")
        var arguments = ["create", content.url.path, "-o", output.path, "--piece-size", pieceSize, "--force"]
        for tracker in trackers { arguments += ["--tracker", tracker] }
        for url in webSeeds { arguments += ["--web-seed", url] }
        try await run(arguments + extra, timeout: .seconds(120))
        let bytes = try [UInt8](Data(contentsOf: output))
        return TestTorrent(url: output, metainfo: try Metainfo(bytes: bytes))
    }

    /// What a `btq get` run did.
    struct GetResult: Sendable {
        let status: Int32
        let seconds: Double
        let process: ChildProcess
    }

    /// Runs `btq get <torrents> --dir <dir> --port <free port> --bind-address <bindAddress> [--peer ...]
    /// [extra]` to its end (at most `timeout`) and throws unless it exits 0, with the end of its output
    /// in the message.
    @discardableResult
    func get(
        _ torrents: [String], into directory: URL, peers: [String] = [], extra: [String] = [],
        bindAddress: String = "127.0.0.1", timeout: Duration = E2E.downloadTimeout
    ) async throws -> GetResult {
        let child = try startGet(torrents, into: directory, peers: peers, extra: extra, bindAddress: bindAddress)
        guard let status = await child.waitForExit(timeout: timeout) else {
            let tail = child.logTail()
            await child.stop()
            throw HarnessError("btq get did not finish within \(timeout) (stopped it)\n\(tail)")
        }
        let seconds = Double(child.elapsed.components.seconds) + Double(child.elapsed.components.attoseconds) / 1e18
        guard status == 0 else {
            throw HarnessError(
                "btq get exited with status \(status) after \(String(format: "%.1f", seconds)) s\n\(child.logTail())")
        }
        return GetResult(status: status, seconds: seconds, process: child)
    }

    /// Starts `btq get` as ``get(_:into:peers:extra:bindAddress:timeout:)`` does, without waiting for it.
    func startGet(
        _ torrents: [String], into directory: URL, peers: [String] = [], extra: [String] = [],
        bindAddress: String = "127.0.0.1"
    ) throws -> ChildProcess {
        let port = try FreePort.next()
        var arguments =
            ["get"] + torrents + ["--dir", directory.path, "--port", "\(port)", "--bind-address", bindAddress]
        for peer in peers { arguments += ["--peer", peer] }
        arguments += extra
        return try scenario.start("btq get", Self.executable, arguments, environment: ["BTQ_DB": database.path])
    }

    /// The database, opened read-mostly through the Store module.
    func store() throws -> BtqStore {
        try BtqStore(path: database.path)
    }

    /// The torrent with `infoHash` in the database.
    func record(of torrent: TestTorrent) throws -> TorrentRecord {
        let all = try store().queries.torrents(includeRemoved: true)
        guard let record = all.first(where: { $0.infoHash == torrent.infoHash }) else {
            throw HarnessError(
                "the database has no torrent \(torrent.infoHash) (it has: \(all.map(\.infoHash).joined(separator: ", ")))"
            )
        }
        return record
    }
}

extension Btq {
    /// Expects btq's peer history of `torrent` to hold the peer at `host`:`port`, first learned from
    /// `source`, with payload downloaded from it, and `btq peers` to show it (IPv6 in brackets) with
    /// that source. Returns the history, for more checks.
    @discardableResult
    func expectDownloaded(
        from host: String, port: UInt16, source: String, of torrent: TestTorrent, in scenario: Scenario,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [PeerRecord] {
        let record = try record(of: torrent)
        let peers = try store().queries.peers(torrentId: record.id)
        let listing = peers.map { "\($0.address) \($0.port) \($0.source) down=\($0.downloaded)" }
        scenario.expect(
            peers.contains { $0.address == host && $0.port == Int(port) && $0.source == source && $0.downloaded > 0 },
            "\(host) \(port) is in btq's peers with source \(source) and bytes from it: \(listing)",
            sourceLocation: sourceLocation)
        let shown = try await run(["peers", "\(record.id)"])
        let address = LibtorrentSeeder.address(host, port)
        scenario.expect(
            shown.split(separator: "\n").contains { $0.contains(address) && $0.contains(source) },
            "btq peers shows \(address) with source \(source):\n\(shown)", sourceLocation: sourceLocation)
        return peers
    }
}
