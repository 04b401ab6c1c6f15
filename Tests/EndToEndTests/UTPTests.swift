import Engine
import Foundation
import Store
import Testing

/// uTP (BEP 29, issue 13) against libtorrent on 127.0.0.1 with TCP off on both sides: btq downloading
/// and seeding, RC4 over uTP, a lossy and reordering forwarder between btq and the seed, and a flood
/// of SYNs and garbage at btq's port while it downloads (memory measured).
@Suite("uTP against libtorrent", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct UTPTests {
    /// btq with `enable_tcp off` (uTP only).
    static func utpOnly(_ scenario: Scenario) async throws -> Btq {
        let btq = try Btq(scenario)
        try await btq.run(["config", "set", "enable_tcp", "off"])
        return btq
    }

    /// A libtorrent seed with TCP off (`enable_incoming_tcp`/`enable_outgoing_tcp` false): btq
    /// downloads everything over uTP, and `btq peers` shows `utp`.
    @Test func downloadFromLibtorrentOverUTPOnly() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "utp.bin", size: 24 << 20, in: scenario.path("data"))
            let btq = try await Self.utpOnly(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, transport: "utp")
            let out = try scenario.folder("download")
            let result = try await btq.get([torrent.url.path], into: out, peers: [seeder.address])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download over uTP: \(report)")
            let transports = try EncryptionTests.transports(btq, torrent)
            scenario.expect(transports == ["utp"], "the seed was connected over uTP: \(transports)")
            let peers = try await btq.run(["peers", torrent.infoHash])
            scenario.expect(peers.contains("utp"), "btq peers shows the transport:\n\(peers)")
            let json = try await btq.run(["peers", torrent.infoHash, "--json"])
            scenario.expect(json.contains("\"utp\""), "btq peers --json has the transport:\n\(json)")
            print(
                "[e2e] \(content.totalSize) bytes over uTP from libtorrent in "
                    + String(format: "%.2f", result.seconds) + " s")
        }
    }

    /// btq seeds with TCP off; a libtorrent leecher with TCP off downloads everything from it.
    @Test func libtorrentLeechesFromBtqOverUTPOnly() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try await Self.utpOnly(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let out = try scenario.folder("leecher")
            let started = ContinuousClock.now
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: out, peers: [seeder.address], transport: "utp")
            try await leecher.waitUntilComplete()
            let elapsed = ContinuousClock.now - started
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download from btq over uTP: \(report)")
            let peers = try leecher.status().torrents.first?.peers ?? []
            scenario.expect(peers.allSatisfy { $0.utp == true }, "libtorrent's peers are uTP: \(peers)")
            try await seeder.process.waitUntil("btq recorded the peer's transport", timeout: .seconds(10)) {
                try EncryptionTests.transports(btq, torrent).contains("utp")
            }
            print(
                "[e2e] \(content.totalSize) bytes over uTP to libtorrent in "
                    + AttackWatch.Report.seconds(elapsed) + " s (its start included)")
        }
    }

    /// A libtorrent seed over uTP only that refuses plaintext (RC4 forced): btq's default `prefer`
    /// runs MSE over the uTP channel and downloads everything over RC4.
    @Test func downloadOverUTPWithForcedEncryption() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "secret.bin", size: 16 << 20, in: scenario.path("data"))
            let btq = try await Self.utpOnly(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, encryptionForced: true, transport: "utp")
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out, peers: [seeder.address])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download over uTP with RC4: \(report)")
            let transports = try EncryptionTests.transports(btq, torrent)
            scenario.expect(transports == ["utp+rc4"], "the seed was connected over uTP with RC4: \(transports)")
        }
    }

    /// btq is told the address of a relay that drops 2% of the datagrams both ways and holds back
    /// 2% to send after the next one; the download over uTP completes with the right bytes.
    @Test func lossyReorderingPathCompletes() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "lossy.bin", size: 16 << 20, in: scenario.path("data"))
            let btq = try await Self.utpOnly(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, transport: "utp")
            let relayPort = try FreePort.next(udp: true)
            let ready = scenario.path("relay-ready")
            let stats = scenario.path("relay-stats.json")
            let relay = try scenario.start(
                "udp relay", E2E.python,
                [
                    E2E.supportDirectory.appendingPathComponent("udp_relay.py").path, "--port", "\(relayPort)",
                    "--target", "\(seeder.port)", "--ready", ready.path, "--stats", stats.path, "--drop", "0.02",
                    "--reorder", "0.02",
                ])
            try await relay.waitUntil("the relay listens", timeout: .seconds(10)) {
                FileManager.default.fileExists(atPath: ready.path)
            }
            let out = try scenario.folder("download")
            let result = try await btq.get([torrent.url.path], into: out, peers: ["127.0.0.1:\(relayPort)"])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download through the lossy relay: \(report)")
            await relay.stop()
            let counts = try JSONSerialization.jsonObject(with: Data(contentsOf: stats)) as? [String: [String: Int]]
            let dropped = (counts?["up"]?["dropped"] ?? 0) + (counts?["down"]?["dropped"] ?? 0)
            let reordered = (counts?["up"]?["reordered"] ?? 0) + (counts?["down"]?["reordered"] ?? 0)
            scenario.expect(dropped > 0 && reordered > 0, "the relay dropped and reordered: \(counts ?? [:])")
            print(
                "[e2e] \(content.totalSize) bytes over uTP through a lossy relay (\(dropped) dropped, \(reordered) "
                    + "reordered) in " + String(format: "%.2f", result.seconds) + " s")
        }
    }

    /// While btq downloads over uTP, one address floods its listen port with SYNs, garbage,
    /// well-formed packets for no connection and lies about the read-limit extension (SYNs claiming
    /// any limit, then datagrams of up to 60,000 bytes): btq stays up, answers loopback SYNs with its
    /// own read limit, the download completes with the right bytes, and its memory stays under the
    /// hostile tests' bound.
    @Test func synFloodAndGarbageWhileDownloading() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "target.bin", size: 32 << 20, in: scenario.path("data"))
            let btq = try await Self.utpOnly(scenario)
            let torrent = try await btq.create(content, trackers: [])
            // Slowed down so that the download lasts longer than the flood.
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 3 << 20, transport: "utp")
            let out = try scenario.folder("download")
            let port = try FreePort.next(udp: true)
            let child = try scenario.start(
                "btq get", Btq.executable,
                [
                    "get", torrent.url.path, "--dir", out.path, "--port", "\(port)", "--bind-address", "127.0.0.1",
                    "--peer", seeder.address, "--seed",
                ], environment: ["BTQ_DB": btq.database.path])
            let floodOut = scenario.path("flood.json")
            let flood = try await scenario.runTool(
                "utp flood", E2E.python,
                [
                    E2E.supportDirectory.appendingPathComponent("utp_flood.py").path, "--target", "\(port)",
                    "--seconds", "6", "--out", floodOut.path,
                ], timeout: .seconds(60))
            try scenario.require(flood.status == 0, "the flood failed: \(flood.output)")
            scenario.expect(child.isRunning, "btq survived the flood:\n\(child.logTail())")
            try await child.waitUntil("the download completed", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            let memory = try ProcessMemory(pid: child.pid)
            scenario.expect(
                memory.peak < AttackWatch.residentBound,
                "btq's memory under the uTP flood: \(memory) (bound \(ProcessMemory.mebibytes(AttackWatch.residentBound)))"
            )
            await child.stop()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download under the flood: \(report)")
            let sent = (try? String(contentsOf: floodOut, encoding: .utf8)) ?? ""
            scenario.expect(
                sent.range(of: #""told": [1-9]"#, options: .regularExpression) != nil,
                "btq told the loopback flooder its read limit in answers to SYNs: \(sent)")
            print("[e2e] uTP flood \(sent); btq \(memory)")
        }
    }
}
