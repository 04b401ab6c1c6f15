import Engine
import Foundation
import Store
import Testing

/// Magnet links (BEP 9 over BEP 10) and peer exchange (BEP 11) against libtorrent, on 127.0.0.1.
@Suite(
    "magnet links and peer exchange against libtorrent", .enabled(if: E2E.isEnabled), .serialized,
    .timeLimit(.minutes(15)))
struct MagnetTests {
    /// The seconds the `metadata` event says the fetch took (`... in 0.12 s`), if it says so.
    static func fetchSeconds(_ detail: String?) -> Double? {
        guard let detail, let range = detail.range(of: " in ", options: .backwards) else { return nil }
        return Double(detail[range.upperBound...].split(separator: " ").first ?? "")
    }

    /// `btq add magnet:?xt=...&tr=<loopback opentracker>` then `btq run`: the daemon fetches the
    /// metadata from a libtorrent seeder found through the tracker, stores it (files and pieces for
    /// `btq info` and `btq files`, a `metadata` event), and completes the download in the same run.
    @Test func magnetThroughTheQueueDaemon() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let magnet = MagnetLink.make(from: torrent.metainfo).uri
            let out = try scenario.folder("download")
            try await btq.run(["add", magnet, "--dir", out.path])
            let before = try btq.record(of: torrent)
            try scenario.require(before.isMagnet && before.fileCount == 0, "the magnet is queued without metadata")

            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(port)"], environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the magnet's download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the magnet's download: \(report)")

            let record = try btq.record(of: torrent)
            scenario.expect(!record.isMagnet, "the metainfo is stored: \(record)")
            scenario.expect(
                record.fileCount == torrent.metainfo.files.count { !$0.isPad }
                    && record.pieceCount == torrent.metainfo.pieceCount,
                "files and pieces recorded: \(record.fileCount) files, \(String(describing: record.pieceCount)) pieces")
            let stored = try btq.store().queries.metainfoBytes(torrentId: record.id).map { try Metainfo(bytes: $0) }
            scenario.expect(
                stored?.infoBytes == torrent.metainfo.infoBytes,
                "the stored .torrent holds the very info dictionary the seeder has")
            let events = try btq.store().queries.events(torrentId: record.id)
            let metadata = events.first { $0.kind == "metadata" }
            scenario.expect(metadata != nil, "a metadata event: \(events.map(\.kind))")
            if let seconds = Self.fetchSeconds(metadata?.detail) {
                print("[e2e] magnet metadata fetched through the daemon in \(seconds) s: \(metadata?.detail ?? "")")
            }
            let files = try await btq.run(["files", "\(record.id)"])
            scenario.expect(files.contains("naïve"), "btq files lists the fetched torrent's files:\n\(files)")
            let info = try await btq.run(["info", "\(record.id)"])
            scenario.expect(info.contains(torrent.metainfo.name), "btq info shows the fetched name:\n\(info)")
            // The client name is the one libtorrent gave in its extension handshake (`v`, its user agent).
            let peers = try btq.store().queries.peers(torrentId: record.id)
            scenario.expect(
                peers.contains { ($0.client ?? "").hasPrefix("btq-e2e/libtorrent") && $0.downloaded > 0 },
                "the seeder's client name from its extension handshake: \(peers.map { $0.client ?? "-" })")

            kill(daemon.pid, SIGINT)
            let status = await daemon.waitForExit(timeout: .seconds(10))
            scenario.expect(status == 0, "btq run exits 0 on SIGINT (status \(String(describing: status)))")
        }
    }

    /// `btq get magnet:?xt=...&x.pe=<seeder>`: no tracker at all, the peer from the link itself.
    @Test func magnetWithPeerAddressThroughGet() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "magnet.bin", size: 12 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let magnet = MagnetLink(
                infoHashes: torrent.metainfo.infoHashes, displayName: nil, trackers: [], webSeeds: [],
                peers: [seeder.address], uri: ""
            ).makeURI()
            let out = try scenario.folder("download")
            let result = try await btq.get([magnet], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq get of a magnet link: \(report)")
            let record = try btq.record(of: torrent)
            scenario.expect(record.state == .completed && record.name == "magnet.bin", "completed, named: \(record)")
            let peers = try btq.store().queries.peers(torrentId: record.id)
            scenario.expect(
                peers.contains { $0.port == Int(seeder.port) && $0.source == "magnet" && $0.downloaded > 0 },
                "the x.pe peer is recorded with source magnet: \(peers.map { "\($0.port) \($0.source)" })")
            let detail = try btq.store().queries.events(torrentId: record.id).first { $0.kind == "metadata" }?.detail
            print(
                "[e2e] btq get magnet: \(String(format: "%.1f", result.seconds)) s in all, metadata in "
                    + "\(Self.fetchSeconds(detail).map { "\($0) s" } ?? "?")")
        }
    }

    /// A magnet nobody can serve: `btq get` waits in state `metadata`, and Ctrl-C stops it cleanly
    /// (exit 1, paused, no metadata stored); `btq run` does the same until the magnet is paused.
    @Test func magnetNobodyServesStopsCleanly() async {
        await Scenario.run { scenario in
            let btq = try Btq(scenario)
            let nobody = try FreePort.next()  // nothing listens there
            let hash = String(repeating: "ab", count: 20)
            let magnet = "magnet:?xt=urn:btih:\(hash)&dn=nowhere&x.pe=127.0.0.1:\(nobody)"
            let out = try scenario.folder("download")
            let get = try scenario.start(
                "btq get", Btq.executable,
                ["get", magnet, "--dir", out.path, "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            let state = { @Sendable () throws -> TorrentState? in
                try btq.store().queries.torrents().first { $0.infoHashV1 == hash }?.state
            }
            try await get.waitUntil("the magnet is fetching its metadata", timeout: .seconds(30)) {
                try state() == .fetchingMetadata
            }
            kill(get.pid, SIGINT)
            let status = await get.waitForExit(timeout: .seconds(10))
            scenario.expect(
                status == 1, "btq get exits 1 when stopped before the metadata (status \(String(describing: status)))")
            let afterGet = try state()
            scenario.expect(afterGet == .paused, "the magnet is paused: \(String(describing: afterGet))")
            let record = try btq.store().queries.torrents().first { $0.infoHashV1 == hash }
            scenario.expect(record?.isMagnet == true, "no metadata stored: \(String(describing: record))")

            // The daemon: the magnet waits in `metadata` until it is paused.
            try await btq.run(["resume", hash])
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the daemon fetches the magnet's metadata", timeout: .seconds(30)) {
                try state() == .fetchingMetadata
            }
            try await btq.run(["pause", hash])
            try await daemon.waitUntil("the daemon stops the fetch", timeout: .seconds(30)) {
                ((try? String(contentsOf: daemon.logURL, encoding: .utf8)) ?? "").contains("stopped #")
            }
            let afterPause = try state()
            scenario.expect(afterPause == .paused, "paused while fetching: \(String(describing: afterPause))")
            kill(daemon.pid, SIGINT)
            let daemonStatus = await daemon.waitForExit(timeout: .seconds(10))
            scenario.expect(daemonStatus == 0, "btq run exits 0 on SIGINT (status \(String(describing: daemonStatus)))")
        }
    }

    /// The metadata from transmission-daemon (its own ut_metadata), then the data: `btq get` of a
    /// magnet naming it as `x.pe` (Transmission never dials 127.0.0.1, so btq dials it).
    @Test func magnetFromTransmission() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await TransmissionSeeder.start(in: scenario, torrent: torrent, data: content.root)
            let magnet = MagnetLink(
                infoHashes: torrent.metainfo.infoHashes, displayName: "from transmission", trackers: [], webSeeds: [],
                peers: [seeder.address], uri: ""
            ).makeURI()
            let out = try scenario.folder("download")
            try await btq.get([magnet], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's magnet download from transmission: \(report)")
            let record = try btq.record(of: torrent)
            let peers = try btq.store().queries.peers(torrentId: record.id)
            scenario.expect(
                peers.contains { ($0.client ?? "").hasPrefix("Transmission") && $0.downloaded > 0 },
                "Transmission named itself in its extension handshake: \(peers.map { $0.client ?? "-" })")
            let detail =
                try btq.store().queries.events(torrentId: record.id).first { $0.kind == "metadata" }?.detail ?? ""
            print("[e2e] magnet from transmission: \(detail)")
        }
    }

    /// btq to btq: one `btq run` seeds a torrent (its data already in place) on 127.0.0.1; a second
    /// one, with its own database, is given only a magnet link naming the first as `x.pe`. The first
    /// serves the metadata (ut_metadata over an incoming connection) and the data.
    @Test func magnetFromAnotherBtq() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "b2b.bin", size: 6 << 20, in: scenario.path("data"))
            let seeder = try Btq(scenario)
            let torrent = try await seeder.create(content, trackers: [])
            try await seeder.run(["add", torrent.url.path, "--dir", content.root.path])
            let seederPort = try FreePort.next()
            let first = try scenario.start(
                "btq run (seeder)", Btq.executable,
                ["run", "--port", "\(seederPort)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": seeder.database.path])
            try await first.waitUntil("the seeder's data is checked", timeout: E2E.startTimeout) {
                (try? seeder.record(of: torrent).state) == .seeding
            }

            let leecherScenarioFolder = try scenario.folder("leecher")
            let leecher = try Btq(scenario, database: leecherScenarioFolder.appendingPathComponent("btq.sqlite"))
            let magnet = MagnetLink(
                infoHashes: torrent.metainfo.infoHashes, displayName: nil, trackers: [], webSeeds: [],
                peers: ["127.0.0.1:\(seederPort)"], uri: ""
            ).makeURI()
            let out = try scenario.folder("download")
            try await leecher.run(["add", magnet, "--dir", out.path])
            let second = try scenario.start(
                "btq run (leecher)", Btq.executable,
                ["run", "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": leecher.database.path])
            try await second.waitUntil("the magnet's download from the other btq", timeout: E2E.downloadTimeout) {
                try leecher.record(of: torrent).completedAt != nil
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's magnet download from another btq: \(report)")
            let events = try leecher.store().queries.events(torrentId: try leecher.record(of: torrent).id)
            let detail = events.first { $0.kind == "metadata" }?.detail ?? ""
            scenario.expect(detail.contains("127.0.0.1:\(seederPort)"), "the metadata came from the seeder: \(detail)")
            print("[e2e] btq to btq magnet: \(detail)")
            for daemon in [first, second] {
                kill(daemon.pid, SIGINT)
                let status = await daemon.waitForExit(timeout: .seconds(10))
                scenario.expect(status == 0, "btq run exits 0 on SIGINT (status \(String(describing: status)))")
            }
        }
    }

    /// PEX: libtorrent peer A (on 127.0.0.1) has the even pieces, B the odd ones. A dials B; btq is
    /// told only of A (no tracker). A names B in a ut_pex message, btq connects to B, and only so can
    /// it complete. B has PEX off, so it never hears of btq from A and cannot dial btq first. With B on
    /// `::1` only, A names it in `added6` (IPv6 PEX).
    @Test(arguments: ["127.0.0.1", "::1"]) func peerLearnedOnlyThroughPexIsConnected(bHost: String) async {
        await Scenario.run { scenario in
            if bHost.contains(":") { try await E2E.requireIPv6Loopback() }
            let content = try TestContent.singleFile(name: "pex.bin", size: 8 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let (even, odd) = DownloadTests.halves(pieceCount: torrent.metainfo.pieceCount)
            let b = try await LibtorrentSeeder.start(
                in: scenario, name: "peer B on \(bHost) (odd pieces)", torrents: [torrent], data: content.root,
                have: odd, keepRedundant: true, listen: [bHost])
            let a = try await LibtorrentSeeder.start(
                in: scenario, name: "peer A (even pieces)", torrents: [torrent], data: content.root, have: even,
                peers: [b.address], pex: true, keepRedundant: true)
            let linked = try await a.status(after: .now, timeout: .seconds(30)) { torrent in
                torrent.peers.contains { $0.ip == bHost && $0.port == Int(b.port) }
            }
            try scenario.require(
                linked.peers.contains { $0.ip == bHost && $0.port == Int(b.port) },
                "A connects to B at \(b.address) first: \(linked.peers)")

            let out = try scenario.folder("download")
            // libtorrent sends PEX about once a minute: allow for a message or two.
            let result = try await btq.get([torrent.url.path], into: out, peers: [a.address], timeout: .seconds(200))
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download from A and the peer A told it about: \(report)")
            let peers = try await btq.expectDownloaded(
                from: bHost, port: b.port, source: "pex", of: torrent, in: scenario)
            scenario.expect(
                !peers.contains { $0.port == Int(b.port) && $0.source != "pex" }, "B came from PEX only: \(peers)")
            print(
                "[e2e] PEX: btq completed via \(b.address), learned through PEX, in "
                    + "\(String(format: "%.1f", result.seconds)) s")
        }
    }
}
