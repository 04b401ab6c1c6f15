import Engine
import Foundation
import Testing

/// v2 magnet links (BEP 52 with BEP 9) against libtorrent 2: the info dictionary of a v2 torrent has
/// no piece layers, so whoever downloads it by magnet must fetch them from its peers with `hash
/// request`s, answered with `hashes` whose uncles prove them against each file's `pieces root`.
@Suite("v2 magnets and hash messages", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct V2MagnetTests {
    /// The magnet link of a v2-only torrent: only its v2 info-hash.
    static func magnet(_ torrent: TestTorrent) throws -> String {
        let v2 = try #require(torrent.metainfo.infoHashes.v2)
        return "magnet:?xt=urn:btmh:1220\(v2.hex)"
    }

    /// btq is the only seed of the v2 tree (files of many pieces among them); a libtorrent leecher that
    /// has only the magnet link and btq's address gets the info dictionary, then every piece layer
    /// from btq's answers to its hash requests, and downloads the tree byte-identically.
    @Test func libtorrentDownloadsAV2MagnetFromBtq() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], extra: ["--v2"])
            let layered = torrent.metainfo.pieceLayers.count
            scenario.expect(layered >= 1, "the tree has files longer than a piece: \(layered)")
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let out = try scenario.folder("leecher")
            let started = ContinuousClock.now
            let leecher = try LibtorrentLeecher.start(
                in: scenario, magnet: try Self.magnet(torrent), into: out, peers: [seeder.address])
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download of the v2 magnet from btq: \(report)")
            print(
                "[e2e] libtorrent fetched a v2 magnet (\(layered) piece layers) from btq in \(ContinuousClock.now - started)"
            )
        }
    }

    /// `btq add` of a v2-only magnet (`xt=urn:btmh:1220...` and the seeder's address) and `btq run`: the
    /// daemon gets the info dictionary, then each piece layer with hash requests proved against the
    /// files' roots, and stores them with the torrent; killed with SIGKILL mid-download, the next run
    /// resumes from the stored torrent without fetching anything again (one `metadata` event) and
    /// completes byte-identically.
    @Test func btqDownloadsAV2MagnetAndResumesAfterKill() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], extra: ["--v2"])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1_500_000)
            let v2 = try #require(torrent.metainfo.infoHashes.v2)
            let magnet = "magnet:?xt=urn:btmh:1220\(v2.hex)&x.pe=\(seeder.address)"
            let out = try scenario.folder("download")
            try await btq.run(["add", magnet, "--dir", out.path])

            let port = try FreePort.next()
            let arguments = ["run", "--port", "\(port)"]
            let environment = ["BTQ_DB": btq.database.path]
            let first = try scenario.start("btq run", Btq.executable, arguments, environment: environment)
            try await first.waitUntil("the metadata and some data", timeout: E2E.downloadTimeout) {
                let record = try btq.record(of: torrent)
                return !record.isMagnet && record.piecesDone > 0
            }
            let record = try btq.record(of: torrent)
            scenario.expect(record.completedAt == nil, "killed before the download completed: \(record)")
            kill(first.pid, SIGKILL)
            _ = await first.waitForExit(timeout: .seconds(10))

            let stored = try btq.store().queries.metainfoBytes(torrentId: record.id).map { try Metainfo(bytes: $0) }
            scenario.expect(
                stored?.infoBytes == torrent.metainfo.infoBytes, "the stored torrent holds the seeder's info dictionary"
            )
            scenario.expect(
                stored?.pieceLayers == torrent.metainfo.pieceLayers && !(stored?.pieceLayers.isEmpty ?? true),
                "the stored torrent holds every piece layer: \(stored?.pieceLayers.count ?? 0) of "
                    + "\(torrent.metainfo.pieceLayers.count)")

            let second = try scenario.start("btq run (again)", Btq.executable, arguments, environment: environment)
            try await second.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of the v2 magnet: \(report)")
            let events = try btq.store().queries.events(torrentId: record.id)
            scenario.expect(
                events.count { $0.kind == "metadata" } == 1,
                "the metadata (with its piece layers) is fetched once: \(events.map(\.kind))")
            print("[e2e] v2 magnet: \(events.first { $0.kind == "metadata" }?.detail ?? "")")
            kill(second.pid, SIGINT)
            _ = await second.waitForExit(timeout: .seconds(10))
        }
    }

    /// A peer that serves the metadata but lies in its `hashes` (random hashes of the right count, or
    /// more than an answer may hold) next to an honest libtorrent seed: btq's v2 magnet fetch drops
    /// and bans the liar, takes the piece layers from libtorrent, and downloads; its peak memory stays
    /// under the bound of the hostile swarm tests.
    @Test(arguments: [CorruptingPeer.Hashes.lie, .oversized])
    func lyingHashesAreRefused(_ hashes: CorruptingPeer.Hashes) async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], extra: ["--v2"])
            let liar = try await CorruptingPeer.start(
                in: scenario, torrent: torrent, data: content.root, modulus: 1 << 30, remainder: (1 << 30) - 1,
                hashes: hashes)
            // The seed comes up only once btq has asked the liar for hashes: before, the liar is the only
            // peer that answers, so btq meets its lie whatever the timing (libtorrent would otherwise
            // often give every layer first). btq dials the seed's address again after its refusals.
            let seederPort = try FreePort.next()
            let v2 = try #require(torrent.metainfo.infoHashes.v2)
            let magnet = "magnet:?xt=urn:btmh:1220\(v2.hex)&x.pe=\(liar.address)&x.pe=127.0.0.1:\(seederPort)"
            let out = try scenario.folder("download")
            // The liar speaks plaintext only: without encryption every dial of it is one connection, so
            // its count tells whether it was dialled again (under `prefer` a dial is an encrypted attempt
            // and then a plaintext one).
            try await btq.run(["config", "set", "encryption", "disable"])
            // The seed's address is refused until it comes up: btq retries it within seconds here (one
            // minute more per failure and 3 failures by default, as libtorrent).
            try await btq.run(["config", "set", "peer_retry_delay", "1"])
            try await btq.run(["config", "set", "peer_max_failures", "20"])
            try await btq.run(["add", magnet, "--dir", out.path])
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(try FreePort.next())"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("btq asks the liar for hashes", timeout: E2E.downloadTimeout) {
                try liar.stats().hashRequests > 0
            }
            _ = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, port: seederPort)
            try await daemon.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }
            let memory = try ProcessMemory(pid: daemon.pid)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of the v2 magnet next to a liar: \(report)")
            let stats = try liar.stats()
            scenario.expect(stats.hashRequests > 0, "btq never asked the liar for hashes: \(stats)")
            scenario.expect(
                stats.connections == 1, "the liar was dialled again after its \(hashes.rawValue) answer: \(stats)")
            scenario.expect(
                memory.peak < AttackWatch.residentBound,
                "btq went over \(ProcessMemory.mebibytes(AttackWatch.residentBound)): \(memory)")
            print(
                "[e2e] v2 magnet next to a \(hashes.rawValue) hash peer: \(stats.hashRequests) requests to it; btq "
                    + "\(memory)")
            kill(daemon.pid, SIGINT)
            _ = await daemon.waitForExit(timeout: .seconds(10))
        }
    }

    /// btq seeds a v2 torrent (one file of 512 pieces of 64 KiB: a piece layer of 16 KiB) while a hostile
    /// peer floods it with hash requests for that layer and never reads; a libtorrent leecher with
    /// only the magnet link downloads it meanwhile, its own hash requests answered. btq stays under
    /// the memory bound of the other floods, and drops the flooder.
    @Test func hashRequestFloodIsBounded() async {
        await Scenario.run { scenario in
            let content = try HostileSwarmTests.content(in: scenario)
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], pieceSize: "64K", extra: ["--v2"])
            let file = torrent.metainfo.files.indices.first { !torrent.metainfo.files.isPad(at: $0) }
            let root = try #require(file.flatMap { torrent.metainfo.files[$0].piecesRoot })
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let hostile = try await HostilePeer.start(
                .hashRequestFlood, in: scenario, port: seeder.port, torrent: torrent,
                duration: AttackWatch.duration + .seconds(30), hashes: (root, base: 2, length: 512))
            let out = try scenario.folder("leecher")
            let leecher = try LibtorrentLeecher.start(
                in: scenario, magnet: try Self.magnet(torrent), into: out, peers: [seeder.address])
            let report = try await AttackWatch.watch(seeder.process, hostile: hostile) {
                FileManager.default.fileExists(atPath: leecher.doneFile.path)
            }
            let stats = try hostile.stats()
            print("[e2e] hash request flood against btq seeding a v2 torrent: \(report); hostile peer: \(stats)")
            scenario.expect(
                report.isWithinBound,
                "btq went over \(ProcessMemory.mebibytes(AttackWatch.residentBound)) under the hash request flood: "
                    + "\(report); hostile peer: \(stats)")
            scenario.expect(
                report.honestDone != nil, "the magnet download did not complete during the flood: \(report)")
            scenario.expect(seeder.process.isRunning, "btq exited under the hash request flood")
            scenario.expect(
                stats.handshakes >= 1 && stats.messagesSent >= 1_000,
                "the hash request flood did not get going: \(stats)")
            scenario.expect(stats.closed >= 1, "btq never dropped the flooder: \(stats)")
            let verified = TestContent.verify(downloaded: out, against: content)
            scenario.expect(verified.isOK, "libtorrent's download from btq under the flood: \(verified)")
        }
    }
}
