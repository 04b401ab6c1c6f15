import Engine
import Foundation
import Store
import TestSupport
import Testing

/// The DHT (BEP 5) against a small network of libtorrent nodes on 127.0.0.0/8: trackerless magnets,
/// a libtorrent leecher that knows only btq's node, and a restart without bootstrap nodes.
@Suite("the DHT against libtorrent nodes", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(10)))
struct DHTTests {
    /// The magnet link of `torrent` with nothing but its info-hash: no tracker, no peer.
    static func bareMagnet(_ torrent: TestTorrent) -> String {
        MagnetLink(
            infoHashes: torrent.metainfo.infoHashes, displayName: nil, trackers: [], webSeeds: [], peers: [], uri: ""
        ).makeURI()
    }

    /// Downloads `torrent`'s bare magnet with `btq get` and checks the data, the `dht` source of the
    /// seed in the peer history and the `dht-peers` event; prints how long each step took.
    static func getThroughTheDHT(
        _ torrent: TestTorrent, of content: TestContent, btq: Btq, seedPort: UInt16, in scenario: Scenario,
        label: String
    ) async throws {
        let out = try scenario.folder("download-\(label)")
        let result = try await btq.get([bareMagnet(torrent)], into: out)
        let report = TestContent.verify(downloaded: out, against: content)
        scenario.expect(report.isOK, "\(label): \(report)")
        let record = try btq.record(of: torrent)
        let peers = try btq.store().queries.peers(torrentId: record.id)
        scenario.expect(
            peers.contains { $0.port == Int(seedPort) && $0.source == "dht" && $0.downloaded > 0 },
            "\(label): the seed is recorded with source dht: \(peers.map { "\($0.address):\($0.port) \($0.source)" })")
        let events = try btq.store().queries.events(torrentId: record.id)
        let found = events.first { $0.kind == EventKind.dhtPeers.rawValue }
        let metadata = events.first { $0.kind == EventKind.metadata.rawValue }
        scenario.expect(found != nil, "\(label): a dht-peers event: \(events.map(\.kind))")
        print(
            "[e2e] \(label): btq get of a bare magnet in \(String(format: "%.2f", result.seconds)) s; "
                + "first DHT peers: \(found?.detail ?? "?"); metadata: \(metadata?.detail ?? "?")")
    }

    /// `btq get magnet:?xt=urn:btih:...` with no tracker and no peer: btq bootstrapped from one
    /// libtorrent node finds the seeder through the DHT, fetches the metadata and downloads the data.
    @Test func trackerlessMagnetFromTheDHT() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "dht.bin", size: 8 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let network = try await LibtorrentDHT.start(in: scenario, seeding: [torrent], data: content.root)
            try btq.useDHT(bootstrap: [network.bootstrapNode])
            try await Self.getThroughTheDHT(
                torrent, of: content, btq: btq, seedPort: network.port, in: scenario, label: "trackerless magnet")
        }
    }

    /// btq seeds (`btq run`, DHT bootstrapped from the libtorrent network); a libtorrent leecher that
    /// knows nothing but btq's node finds btq through the DHT and downloads from it.
    @Test func aLeecherThatKnowsOnlyBtqsNodeFindsBtq() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "seeded.bin", size: 8 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let network = try await LibtorrentDHT.start(in: scenario)
            try btq.useDHT(bootstrap: [network.bootstrapNode])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let out = try scenario.folder("leecher")
            let infoHash = try #require(torrent.metainfo.infoHashes.v1?.hex)
            let (leecher, done) = try await LibtorrentDHT.leech(
                in: scenario, infoHash: infoHash, bootstrap: seeder.address, into: out)
            try await leecher.process.waitUntil("the leecher has every piece", timeout: E2E.downloadTimeout) {
                FileManager.default.fileExists(atPath: done.path)
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the libtorrent leecher's download: \(report)")
            let finished = try JSONDecoder().decode(LibtorrentDHT.Done.self, from: Data(contentsOf: done))
            // Nobody else has the data; btq's peer history shows what it sent (recorded in the journal's rhythm).
            let id = try btq.record(of: torrent).id
            let uploaded = { @Sendable () throws -> [PeerRecord] in
                try btq.store().queries.peers(torrentId: id).filter { $0.uploaded > 0 }
            }
            let recorded = try await poll(timeout: .seconds(30), interval: .milliseconds(200)) {
                try uploaded().reduce(0) { $0 + $1.uploaded } >= Int64(content.totalSize)
            }
            let peers = try btq.store().queries.peers(torrentId: id)
            scenario.expect(recorded, "btq records what it uploaded to the leecher: \(peers)")
            print("[e2e] a libtorrent leecher bootstrapped from btq's node had the data after \(finished.seconds) s")
        }
    }

    /// After a download through the DHT, the bootstrap setting is emptied: the next `btq get` finds
    /// the network from the table the first run saved, with the same node id.
    @Test func aRestartFindsPeersFromTheSavedTable() async {
        await Scenario.run { scenario in
            let first = try TestContent.singleFile(name: "first.bin", size: 2 << 20, in: scenario.path("data"))
            let second = try TestContent.singleFile(
                name: "second.bin", size: 2 << 20, seed: 2, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let firstTorrent = try await btq.create(first, trackers: [])
            let secondTorrent = try await btq.create(second, trackers: [])
            let network = try await LibtorrentDHT.start(
                in: scenario, seeding: [firstTorrent, secondTorrent], data: first.root)
            try btq.useDHT(bootstrap: [network.bootstrapNode])
            try await Self.getThroughTheDHT(
                firstTorrent, of: first, btq: btq, seedPort: network.port, in: scenario, label: "with a bootstrap node")
            let saved = try #require(try btq.store().dht.loadDHTState(family: .ipv4))
            scenario.expect(!saved.nodes.isEmpty, "the table was saved: \(saved.nodes.count) nodes")

            try btq.useDHT(bootstrap: [])
            try await Self.getThroughTheDHT(
                secondTorrent, of: second, btq: btq, seedPort: network.port, in: scenario, label: "from the saved table"
            )
            let again = try #require(try btq.store().dht.loadDHTState(family: .ipv4))
            scenario.expect(again.id == saved.id, "the node id stays: \(saved.id) then \(again.id)")
        }
    }
}

/// A DHT node that lies and floods, against btq downloading through the DHT. Run last and alone by
/// `scripts/test` (its flood would starve the other tests on two cores).
@Suite("the DHT under attack", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(5)))
struct DHTAttackTests {
    /// btq bootstraps from a lying node (it claims our id or one next to the target, and answers with
    /// 150 nodes and 600 peers that do not exist) and from an honest libtorrent network, while 200
    /// addresses flood its node with queries, forged announces and garbage: the magnet still
    /// downloads through the DHT, btq's memory stays bounded, and its node dropped the flood.
    @Test func aLyingFloodingNodeDoesNotStopTheDownload() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "hostile.bin", size: 8 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let network = try await LibtorrentDHT.start(in: scenario, seeding: [torrent], data: content.root)
            let port = try FreePort.next()
            let work = try scenario.folder("hostile-dht")
            let ready = work.appendingPathComponent("ready.json")
            let status = work.appendingPathComponent("status.json")
            let liarPort = try FreePort.next()
            try btq.useDHT(bootstrap: ["127.0.0.9:\(liarPort)", network.bootstrapNode])
            let out = try scenario.folder("download")
            try await btq.run(["add", DHTTests.bareMagnet(torrent), "--dir", out.path])
            let hostile = try scenario.start(
                "hostile DHT node", E2E.python,
                [
                    E2E.supportDirectory.appendingPathComponent("hostile_dht.py").path, "--port", "\(liarPort)",
                    "--ready", ready.path, "--target", "127.0.0.1:\(port)", "--seconds", "30", "--status",
                    status.path,
                ])
            try await hostile.waitUntil("the hostile node is up", timeout: E2E.startTimeout) {
                FileManager.default.fileExists(atPath: ready.path)
            }
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            let history = { @Sendable () -> String in
                let events = (try? btq.store().queries.events(torrentId: btq.record(of: torrent).id)) ?? []
                return events.map { "\($0.kind) \($0.detail ?? "")" }.joined(separator: "; ")
            }
            do {
                try await daemon.waitUntil("the magnet's download completes under the attack", timeout: .seconds(60)) {
                    try btq.record(of: torrent).completedAt != nil
                }
            } catch {
                print("[e2e] DHT under attack: the torrent's history: \(history())")
                throw error
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download under attack: \(report)")
            _ = await hostile.waitForExit(timeout: .seconds(40))
            let memory = try ProcessMemory(pid: daemon.pid)
            scenario.expect(
                memory.peak < AttackWatch.residentBound,
                "btq's memory under the DHT attack: \(memory) (bound \(ProcessMemory.mebibytes(AttackWatch.residentBound)))"
            )
            kill(daemon.pid, SIGINT)
            let exit = await daemon.waitForExit(timeout: .seconds(10))
            scenario.expect(exit == 0, "btq run exits 0 after the attack (status \(String(describing: exit)))")
            let saved = try #require(try btq.store().dht.loadDHTState(family: .ipv4))
            let counts = (try? String(contentsOf: status, encoding: .utf8)) ?? "?"
            scenario.expect(
                saved.status.queriesDropped > 0 && !saved.nodes.contains { $0.id == saved.id }
                    && counts.contains("\"lies\": ") && !counts.contains("\"lies\": 0,"),
                "btq asked the liar, dropped the flood, and has no node with our id in its table: "
                    + "\(saved.status.queriesDropped) dropped; attacker: \(counts)")
            print(
                "[e2e] DHT under attack: download complete (\(history())), btq \(memory); node answered "
                    + "\(saved.status.queriesAnswered), dropped \(saved.status.queriesDropped); attacker: \(counts)")
        }
    }
}
