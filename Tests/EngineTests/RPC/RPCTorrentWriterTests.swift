import Foundation
import Testing

@testable import Engine

/// `torrent-get`'s per-torrent figures that depend on whether a session works the torrent, as
/// Transmission reports them: peers counted by source, and trackers' announce state.
@Suite struct RPCTorrentWriterTests {
    static let now: Int64 = 1_800_000_000

    static func torrent(active: Bool) -> RPCTorrent {
        var torrent = RPCTorrent(
            id: 4, hashString: String(repeating: "d", count: 40), name: "t", state: active ? .downloading : .paused,
            totalSize: 100, sizeWhenDone: 100, haveValid: 10, downloadedEver: 10, uploadedEver: 0, corruptEver: 0,
            addedDate: 1_700_000_000, downloadDir: "/d", queuePosition: 0, isPrivate: false, isMagnet: false,
            comment: "", creator: "", dateCreated: 0, pieceCount: 4, pieceSize: 25, fileCount: 1, magnetLink: "")
        torrent.isActive = active
        return torrent
    }

    static let trackers: [RPCTorrentDetails.Tracker] = [
        // Announced, next one in 10 minutes, scraped.
        .init(
            id: 1, announce: "http://a.example/announce", tier: 0, seeders: 3, leechers: 2, downloads: 9,
            lastAnnounce: now - 600, nextAnnounce: now + 600, lastError: nil, lastScrape: now - 300),
        // Due: its next announce time has passed; its scrape failed.
        .init(
            id: 2, announce: "udp://b.example:80", tier: 1, seeders: nil, leechers: nil, downloads: nil,
            lastAnnounce: now - 4000, nextAnnounce: now - 5, lastError: "refused", lastScrape: now - 100,
            scrapeError: "timed out"),
        // Never announced.
        .init(
            id: 3, announce: "http://c.example/announce", tier: 2, seeders: nil, leechers: nil, downloads: nil,
            lastAnnounce: 0, nextAnnounce: 0, lastError: nil),
    ]

    func answer(_ names: [String], _ torrent: RPCTorrent, _ details: RPCTorrentDetails) throws -> [String: Any] {
        var json = JSONWriter()
        json.raw("{")
        RPCTorrentWriter(fields: RPCTorrentField.parse(names), now: Self.now)
            .write([torrent], details: [torrent.id: details], table: false, into: &json)
        json.raw("}")
        let object = try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String: Any]
        return try #require((object?["torrents"] as? [[String: Any]])?.first)
    }

    @Test func aStoppedTorrentsTrackersAreInactiveAndKeepWhatTheyLastSaid() throws {
        let stats = try #require(
            try answer(["trackerStats"], Self.torrent(active: false), RPCTorrentDetails(trackers: Self.trackers))[
                "trackerStats"] as? [[String: Any]])
        #expect(stats.map { $0["announceState"] as? Int } == [0, 0, 0])
        #expect(stats.map { $0["nextAnnounceTime"] as? Int } == [0, 0, 0])
        #expect(stats[0]["lastAnnounceTime"] as? Int == Int(Self.now - 600))
        #expect(stats[0]["lastAnnounceSucceeded"] as? Bool == true)
        #expect(stats[0]["seederCount"] as? Int == 3)
        #expect(stats[0]["hasScraped"] as? Bool == true)
        #expect(stats[0]["lastScrapeSucceeded"] as? Bool == true)
        #expect(stats[0]["lastScrapeTime"] as? Int == Int(Self.now - 300))
        #expect(stats[1]["lastAnnounceResult"] as? String == "refused")
        #expect(stats[1]["lastAnnounceSucceeded"] as? Bool == false)
        #expect(stats[1]["lastScrapeSucceeded"] as? Bool == false)
        #expect(stats[1]["lastScrapeResult"] as? String == "timed out")
        #expect(stats[1]["seederCount"] as? Int == -1)
        #expect(stats[2]["hasAnnounced"] as? Bool == false)
        #expect(stats[2]["hasScraped"] as? Bool == false)
    }

    @Test func aWorkedTorrentsTrackersWaitForTheirNextAnnounceOrAreDue() throws {
        let stats = try #require(
            try answer(["trackerStats"], Self.torrent(active: true), RPCTorrentDetails(trackers: Self.trackers))[
                "trackerStats"] as? [[String: Any]])
        // Waiting (1) with its time, due (2) without one, and one never scheduled inactive (0).
        #expect(stats.map { $0["announceState"] as? Int } == [1, 2, 0])
        #expect(stats.map { $0["nextAnnounceTime"] as? Int } == [Int(Self.now + 600), 0, 0])
    }

    @Test func peersFromCountsTheConnectedPeersBySourceAndAStoppedTorrentNone() throws {
        var worked = Self.torrent(active: true)
        worked.peersConnected = 6
        worked.peersFrom.tracker = 2
        worked.peersFrom.dht = 1
        worked.peersFrom.pex = 1
        worked.peersFrom.incoming = 1
        worked.peersSendingToUs = 3
        worked.peersGettingFromUs = 1
        let fields = ["peersFrom", "peersConnected", "peersSendingToUs", "peersGettingFromUs", "peers"]
        let answer = try answer(fields, worked, RPCTorrentDetails())
        #expect(
            answer["peersFrom"] as? [String: Int] == [
                "fromCache": 0, "fromDht": 1, "fromIncoming": 1, "fromLpd": 0, "fromLtep": 0, "fromPex": 1,
                "fromTracker": 2,
            ])
        #expect(answer["peersSendingToUs"] as? Int == 3)
        #expect(answer["peersGettingFromUs"] as? Int == 1)
        let stopped = try self.answer(fields, Self.torrent(active: false), RPCTorrentDetails())
        #expect((stopped["peersFrom"] as? [String: Int])?.values.allSatisfy { $0 == 0 } == true)
        #expect(stopped["peersConnected"] as? Int == 0)
        #expect((stopped["peers"] as? [Any])?.isEmpty == true)
    }

    /// Transmission's buckets for btq's sources: a peer given by the user or a magnet is in none.
    @Test func peerCountsSortEachSourceIntoItsBucket() {
        var counts = PeerCounts()
        for source: PeerUpdate.Source in [.tracker, .tracker, .dht, .pex, .lsd, .incoming, .manual, .magnet] {
            counts.count(source, sending: source == .tracker, getting: source == .incoming)
        }
        #expect(counts.fromTracker == 2)
        #expect(counts.fromDHT == 1)
        #expect(counts.fromPEX == 1)
        #expect(counts.fromLSD == 1)
        #expect(counts.fromIncoming == 1)
        #expect(counts.fromOther == 2)
        #expect(counts.sendingToUs == 2)
        #expect(counts.gettingFromUs == 1)
    }
}
