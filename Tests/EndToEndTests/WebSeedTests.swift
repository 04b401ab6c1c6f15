import Engine
import Foundation
import Store
import Testing

/// Web seeds (BEP 19) against a real HTTP server (`web_seed_server.py`) and libtorrent: alone, beside a
/// peer, serving bad data, and misbehaving, with btq's memory measured.
@Suite("Web seeds", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(15)))
struct WebSeedTests {
    /// btq's memory bound while a web server misbehaves (a download of 8 MiB).
    static let residentBound = 150 << 20

    /// The history of `torrent` in `btq`'s database, as `kind detail` lines.
    static func history(_ btq: Btq, _ torrent: TestTorrent) -> [String] {
        let events = (try? btq.store().queries.events(torrentId: btq.record(of: torrent).id)) ?? []
        return events.map { "\($0.kind) \($0.detail ?? "")" }
    }

    /// btq's peer records of `torrent` from web seeds.
    static func webSeedRecords(_ btq: Btq, _ torrent: TestTorrent) throws -> [PeerRecord] {
        try btq.store().queries.peers(torrentId: btq.record(of: torrent).id).filter { $0.source == "web-seed" }
    }

    /// (a) A multi-file torrent (nested folders, empty files, non-ASCII, NFD and spaced names) served
    /// only by a web server, no peer and no tracker, whose first two answers are `503 Retry-After: 1`,
    /// beside an `ftp` web seed: btq downloads and verifies it, records the busy answers and the
    /// ftp seed skipped, and `btq peers` shows the web seed with its URL and bytes.
    @Test func multiFileFromWebSeedAlone() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let server = try await WebSeedServer.start(in: scenario, root: content.root, busy: 2)
            let btq = try Btq(scenario)
            let ftp = "ftp://127.0.0.1:1/seed/"
            let torrent = try await btq.create(content, trackers: [], webSeeds: [server.url, ftp])
            let out = try scenario.folder("out")
            let result = try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download from the web seed alone: \(report)")
            let records = try Self.webSeedRecords(btq, torrent).filter { $0.address == server.url }
            let total = Int64(content.totalSize)
            scenario.expect(
                records.count == 1 && records[0].downloaded >= total && !records[0].isBanned,
                "one web seed record with every byte: \(records.map { "\($0.address) \($0.downloaded)" })")
            let history = Self.history(btq, torrent)
            scenario.expect(
                history.contains { $0.hasPrefix("web-seed-failed") && $0.contains("503") }
                    && history.contains {
                        $0.hasPrefix("web-seed-dropped") && $0.contains(ftp) && $0.contains("unsupported")
                    },
                "the busy answers and the ftp web seed are in the history: \(history)")
            let shown = try await btq.run(["peers", "\(try btq.record(of: torrent).id)"])
            scenario.expect(
                shown.contains(server.url) && shown.contains("web-seed"), "btq peers shows the web seed:\n\(shown)")
            let requests = server.requests()
            scenario.expect(
                requests.filter { ($0["status"] as? Int) != 503 }.allSatisfy { ($0["status"] as? Int) == 206 },
                "every request past the busy ones was a ranged one answered 206: \(requests.prefix(5))")
            print(
                "[e2e] web seed alone: \(content.totalSize) bytes in \(String(format: "%.1f", result.seconds)) s, "
                    + "\(requests.count) requests")
        }
    }

    /// (b) One libtorrent seeder and the web seed together (each sending at most 3 MB/s; the server
    /// redirects the file to another path): both send data, as btq's peer history records.
    @Test func peerAndWebSeedBothContribute() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "both.bin", size: 24 << 20, in: scenario.path("data"))
            let server = try await WebSeedServer.start(
                in: scenario, root: content.root, rate: 3_000_000, redirect: true)
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], webSeeds: [server.url])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 3_000_000)
            let out = try scenario.folder("out")
            try await btq.get([torrent.url.path], into: out, peers: ["127.0.0.1:\(seeder.port)"])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download from both: \(report)")
            let peers = try btq.store().queries.peers(torrentId: btq.record(of: torrent).id)
            let fromSeed = peers.filter { $0.source == "web-seed" }.reduce(0) { $0 + $1.downloaded }
            let fromPeer = peers.filter { $0.source != "web-seed" }.reduce(0) { $0 + $1.downloaded }
            scenario.expect(
                fromSeed > 0 && fromPeer > 0,
                "both sent data: web seed \(fromSeed) bytes, libtorrent \(fromPeer) bytes")
            let statuses = Set(server.requests().compactMap { $0["status"] as? Int })
            scenario.expect(statuses == [302, 206], "the redirect was followed: statuses \(statuses)")
            print("[e2e] peer and web seed: web seed sent \(fromSeed) bytes, libtorrent \(fromPeer) bytes")
        }
    }

    /// (c) A web server whose data is corrupt over 2 MiB of the file: the torrent completes (the rest
    /// from libtorrent), the web seed is dropped after its hash failures, and `btq peers` and
    /// `btq history` say so.
    @Test func corruptWebSeedIsDropped() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "bad.bin", size: 8 << 20, in: scenario.path("data"))
            let server = try await WebSeedServer.start(
                in: scenario, root: content.root, behaviour: .corrupt(path: "bad.bin", offset: 1 << 20, length: 2 << 20)
            )
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], webSeeds: [server.url])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1_000_000)
            let out = try scenario.folder("out")
            try await btq.get([torrent.url.path], into: out, peers: ["127.0.0.1:\(seeder.port)"])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download despite the corrupt web seed: \(report)")
            let records = try Self.webSeedRecords(btq, torrent)
            scenario.expect(
                records.count == 1 && records[0].isBanned && records[0].hashFailures >= 3,
                "the web seed is recorded dropped with its hash failures: "
                    + "\(records.map { "\($0.address) fails=\($0.hashFailures) banned=\($0.isBanned) \($0.client ?? "")" })"
            )
            let history = Self.history(btq, torrent)
            scenario.expect(
                history.contains { $0.hasPrefix("web-seed-dropped") && $0.contains("hash failure") },
                "the history says the web seed was dropped for hash failures: \(history)")
            let shown = try await btq.run(["peers", "\(try btq.record(of: torrent).id)"])
            scenario.expect(shown.contains("dropped"), "btq peers shows the web seed dropped:\n\(shown)")
            let listed = try await btq.run(["history", "\(try btq.record(of: torrent).id)"])
            scenario.expect(listed.contains("web-seed-dropped"), "btq history shows the drop:\n\(listed)")
        }
    }

    /// (d) A server that ignores Range and streams without end, and one that never answers, each beside
    /// a slow libtorrent seeder under `btq run`: the torrent completes, btq records the web seed's
    /// failures, reads a bounded part of the endless stream, and its memory stays bounded.
    @Test(arguments: [false, true]) func misbehavingServerIsBounded(silent: Bool) async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "slow.bin", size: 8 << 20, in: scenario.path("data"))
            let server = try await WebSeedServer.start(
                in: scenario, root: content.root, behaviour: silent ? .silent : .ignoreRangeEndless)
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], webSeeds: [server.url])
            let out = try scenario.folder("out")
            try await btq.run(["add", torrent.url.path, "--dir", out.path])
            try await btq.run(["config", "set", "max_active_seeds", "1"])
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the torrent downloads", timeout: E2E.startTimeout) {
                try btq.record(of: torrent).state == .downloading
            }
            // No tracker: the seeder dials btq. Slow enough that the silent server's stall timeout (20 s)
            // passes during the download.
            _ = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: silent ? 300_000 : 1_000_000,
                peers: ["127.0.0.1:\(port)"])
            try await daemon.waitUntil("the download completes", timeout: .seconds(120)) {
                try btq.record(of: torrent).completedAt != nil
            }
            let memory = try ProcessMemory(pid: daemon.pid)
            let history = Self.history(btq, torrent)
            kill(daemon.pid, SIGINT)
            _ = await daemon.waitForExit(timeout: .seconds(20))
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download beside the misbehaving server: \(report)")
            let expected = silent ? "timed out" : "ignores Range"
            scenario.expect(
                history.contains { $0.hasPrefix("web-seed-failed") && $0.contains(expected) },
                "the history records the web seed failing (\(expected)): \(history)")
            scenario.expect(
                memory.peak < Self.residentBound,
                "btq's memory beside the misbehaving server: \(memory) "
                    + "(bound \(ProcessMemory.mebibytes(Self.residentBound)))")
            let streamed = server.requests().compactMap { $0["sent"] as? Int }
            if !silent {
                scenario.expect(
                    streamed.allSatisfy { $0 < 16 << 20 },
                    "btq stopped reading each endless answer early: bytes sent per answer \(streamed)")
            }
            print(
                "[e2e] \(silent ? "silent" : "endless, Range ignoring") web server: download complete, btq "
                    + "\(memory); server streamed \(streamed) bytes per answer; history \(history)")
        }
    }

    /// The web seed's speed against a libtorrent seeder's on the same 64 MiB, in one run: printed, and
    /// both must complete.
    @Test func webSeedSpeedAgainstPeer() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "speed.bin", size: 64 << 20, in: scenario.path("data"))
            let server = try await WebSeedServer.start(in: scenario, root: content.root)
            let btq = try Btq(scenario)
            let withSeed = try await btq.create(content, trackers: [], name: "web", webSeeds: [server.url])
            let plain = try await btq.create(content, trackers: [], name: "plain")
            let fromWeb = try scenario.folder("from-web")
            let web = try await btq.get([withSeed.url.path], into: fromWeb)
            scenario.expect(TestContent.verify(downloaded: fromWeb, against: content).isOK, "web seed download")
            let seeder = try await LibtorrentSeeder.start(in: scenario, torrents: [plain], data: content.root)
            let fromPeer = try scenario.folder("from-peer")
            // The same info dictionary (a web seed is outside it): a second database, where it is new.
            let second = try Btq(scenario, database: try scenario.folder("btq2").appendingPathComponent("btq.sqlite"))
            let peer = try await second.get([plain.url.path], into: fromPeer, peers: ["127.0.0.1:\(seeder.port)"])
            scenario.expect(TestContent.verify(downloaded: fromPeer, against: content).isOK, "peer download")
            let mib = Double(content.totalSize) / 1_048_576
            print(
                "[e2e] speed, 64 MiB: web seed alone \(String(format: "%.2f", web.seconds)) s "
                    + "(\(String(format: "%.1f", mib / web.seconds)) MiB/s), libtorrent seeder alone "
                    + "\(String(format: "%.2f", peer.seconds)) s (\(String(format: "%.1f", mib / peer.seconds)) MiB/s)")
        }
    }
}
