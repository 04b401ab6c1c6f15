import Engine
import Foundation
import Store
import Testing

/// Scrapes (BEP 48 over HTTP, BEP 15 over UDP) against the real opentracker: the seeders, leechers and
/// completed downloads btq stores and shows are those opentracker holds.
@Suite("btq scrapes opentracker", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(10)))
struct ScrapeTests {
    enum TrackerKind: String, CaseIterable, Sendable {
        case http, udp
    }

    /// A btq daemon seeds; a probe peer stays in the swarm as a leecher; a second btq daemon downloads
    /// the torrent. The tracker then holds two seeders (both btq), one leecher (the probe) and one
    /// completed download, and btq's database, `btq info`, `btq info --json` and `btq list --json` say
    /// so. Over UDP the announces carry no completed count, so btq scrapes again after its `completed`
    /// announce and that count can only come from the scrape; over HTTP opentracker's answer to the
    /// announce carries every count, and no scrape follows it.
    @Test(arguments: TrackerKind.allCases)
    func countsMatchWhatOpentrackerHolds(_ kind: TrackerKind) async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "scraped.bin", size: 2 << 20, in: scenario.path("data"))
            let tracker = try OpenTracker(scenario)
            let seederBtq = try Btq(scenario)
            let url = kind == .http ? tracker.httpAnnounce : tracker.udpAnnounce
            let torrent = try await seederBtq.create(content, trackers: [url])
            try await tracker.start(whitelisting: [torrent])
            _ = try await BtqSeeder.start(seederBtq, torrents: [torrent], data: content.root)
            try tracker.announceLeecher(of: torrent)

            let leecher = try Btq(
                scenario, database: try scenario.folder("leecher").appendingPathComponent("btq.sqlite"))
            let out = try scenario.folder("download")
            try await leecher.run(["add", torrent.url.path, "--dir", out.path])
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run (leecher)", Btq.executable, ["run", "--port", "\(port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": leecher.database.path])
            try await daemon.waitUntil("it downloaded the torrent", timeout: E2E.downloadTimeout) {
                try leecher.record(of: torrent).state == .seeding
            }
            let report = TestContent.verify(downloaded: out, against: content)
            try scenario.require(report.isOK, "the leecher's download: \(report)")

            let expected = ScrapeResult(seeders: 2, completed: 1, leechers: 1)
            let held = try tracker.scrape(of: torrent)
            try scenario.require(held == expected, "opentracker holds \(held), expected \(expected)")

            let id = try leecher.record(of: torrent).id
            try await daemon.waitUntil("a scrape after the completed announce is stored", timeout: .seconds(60)) {
                guard let stored = try leecher.store().queries.trackers(torrentId: id).first else { return false }
                return stored.lastScrapeAt != nil && stored.seeders == 2 && stored.leechers == 1
                    && stored.completed == 1
            }
            let stored = try #require(try leecher.store().queries.trackers(torrentId: id).first)
            scenario.expect(stored.url == url && stored.scrapeError == nil, "\(stored)")
            scenario.expect(
                stored.seeders == held.seeders && stored.leechers == held.leechers
                    && stored.completed == held.completed,
                "btq stored \(stored), opentracker holds \(held)")

            let info = try await leecher.run(["info", "\(id)"])
            scenario.expect(
                info.contains("\(url) (tier 0, 2 seeders, 1 leechers, 1 completed, scraped "),
                "btq info shows the scraped counts:\n\(info)")

            let infoJSON = try Self.object(try await leecher.run(["info", "\(id)", "--json"]))
            let trackers = infoJSON?["trackers"] as? [[String: Any]]
            let first = trackers?.first
            scenario.expect(
                first?["seeders"] as? Int == 2 && first?["leechers"] as? Int == 1 && first?["completed"] as? Int == 1
                    && first?["last_scrape"] is String && first?["scrape_error"] is NSNull,
                "btq info --json has the tracker's counts: \(String(describing: trackers))")

            let list = try JSONSerialization.jsonObject(with: Data(try await leecher.run(["list", "--json"]).utf8))
            let listed = (list as? [[String: Any]])?.first { $0["id"] as? Int == Int(id) }
            scenario.expect(
                listed?["seeders"] as? Int == 2 && listed?["leechers"] as? Int == 1
                    && listed?["completed"] as? Int == 1,
                "btq list --json has the counts: \(String(describing: listed))")
        }
    }

    /// A daemon seeding 16 torrents from one tracker scrapes them in a few multi-hash requests (BEP 48
    /// over HTTP, BEP 15 over UDP), not one or two each: every torrent gets its counts stored, while
    /// opentracker counts fewer scrape requests than torrents.
    @Test(arguments: TrackerKind.allCases)
    func manyTorrentsAreScrapedInFewRequests(_ kind: TrackerKind) async {
        await Scenario.run { scenario in
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let url = kind == .http ? tracker.httpAnnounce : tracker.udpAnnounce
            let (torrents, data) = try await Self.smallTorrents(in: scenario, btq: btq, tracker: url)
            try await tracker.start(whitelisting: torrents)
            _ = try await Self.seedUntilEveryTorrentIsScraped(torrents, btq: btq, data: data)
            let requests = try tracker.scrapeRequests()
            let count = kind == .http ? requests.http : requests.udp
            print("[e2e] \(kind.rawValue): \(torrents.count) torrents scraped in \(count) requests")
            scenario.expect(
                count >= 1 && count < torrents.count,
                "\(torrents.count) torrents took \(count) scrape requests (\(requests))")
        }
    }

    /// A tracker that reads only the first `info_hash` of a scrape (it answers a multi-hash request for
    /// one torrent): btq asks the others alone, every torrent still gets its counts, and btq goes on
    /// one hash at a time.
    @Test func aTrackerAnsweringOneHashOfAScrapeStillScrapesEveryTorrent() async {
        await Scenario.run { scenario in
            let tracker = try await SwarmTracker.start(in: scenario, host: "127.0.0.1", scrape: "first")
            let btq = try Btq(scenario)
            let (torrents, data) = try await Self.smallTorrents(in: scenario, btq: btq, tracker: tracker.announce)
            let seeder = try await Self.seedUntilEveryTorrentIsScraped(torrents, btq: btq, data: data)
            let requests = tracker.scrapeRequests()
            print("[e2e] a tracker answering one hash: scrapes of \(requests) hashes")
            scenario.expect((requests.first ?? 0) > 1, "btq asked several torrents in one scrape: \(requests)")
            scenario.expect(
                requests.filter { $0 == 1 }.count >= torrents.count - 1,
                "btq asked the torrents left out alone: \(requests)")
            scenario.expect(seeder.process.isRunning, "btq run still runs")
        }
    }

    /// 16 torrents of 64 KiB each announcing to `tracker`, their data in one folder.
    static func smallTorrents(
        in scenario: Scenario, btq: Btq, tracker: String
    ) async throws -> (
        [TestTorrent], URL
    ) {
        let data = try scenario.folder("data")
        var torrents: [TestTorrent] = []
        for index in 0..<16 {
            let content = try TestContent.singleFile(
                name: "file\(index).bin", size: 64 << 10, seed: UInt64(100 + index), in: data)
            torrents.append(try await btq.create(content, trackers: [tracker]))
        }
        return (torrents, data)
    }

    /// `btq run` seeds all of `torrents` at once, until every one has stored a scrape that counts it.
    static func seedUntilEveryTorrentIsScraped(
        _ torrents: [TestTorrent], btq: Btq, data: URL
    ) async throws
        -> BtqSeeder
    {
        try await btq.run(["config", "set", "max_active_seeds", "unlimited"])
        let seeder = try await BtqSeeder.start(btq, torrents: torrents, data: data)
        let ids = try torrents.map { try btq.record(of: $0).id }
        try await seeder.process.waitUntil("every torrent's scrape stored", timeout: .seconds(60)) {
            let store = try btq.store()
            return try ids.allSatisfy { id in
                guard let stored = try store.queries.trackers(torrentId: id).first else { return false }
                return stored.lastScrapeAt != nil && stored.scrapeError == nil && stored.seeders == 1
            }
        }
        return seeder
    }

    static func object(_ text: String) throws -> [String: Any]? {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }
}
