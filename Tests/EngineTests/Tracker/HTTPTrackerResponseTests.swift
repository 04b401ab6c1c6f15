import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct HTTPTrackerResponseTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func compactReply() throws {
        var body = Self.bytes("d8:completei5e10:incompletei3e8:intervali1800e12:min intervali60e5:peers12:")
        body += [127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2]
        body += Self.bytes("6:peers618:")
        body += [UInt8](repeating: 0, count: 15) + [1, 0x1a, 0xe3]
        body += Self.bytes("10:tracker id3:xyze")
        let reply = try HTTPTrackerResponse.announce(body)
        #expect(reply.interval == 1800)
        #expect(reply.minInterval == 60)
        #expect(reply.seeders == 5)
        #expect(reply.leechers == 3)
        #expect(reply.trackerId == "xyz")
        #expect(reply.peers.map(\.description) == ["127.0.0.1:6881", "127.0.0.2:6882", "[::1]:6883"])
    }

    @Test func dictionaryPeerList() throws {
        let peerId = String(repeating: "P", count: 20)
        let body = Self.bytes(
            "d8:intervali900e5:peersld2:ip9:127.0.0.17:peer id20:\(peerId)4:porti7000eed2:ip3:::14:porti7001eed2:ip5:bogus4:porti0eeee"
        )
        let reply = try HTTPTrackerResponse.announce(body)
        #expect(reply.peers.map(\.description) == ["127.0.0.1:7000", "[::1]:7001"])
        #expect(reply.peerIds[reply.peers[0]] == Array(peerId.utf8))
    }

    @Test func failureAndWarning() throws {
        #expect(throws: TrackerError.failure("unregistered torrent")) {
            try HTTPTrackerResponse.announce(Self.bytes("d14:failure reason20:unregistered torrente"))
        }
        let warned = try HTTPTrackerResponse.announce(Self.bytes("d8:intervali60e15:warning message4:slowe"))
        #expect(warned.warning == "slow")
        #expect(warned.peers.isEmpty)
    }

    @Test(arguments: [
        "", "le", "d5:peers3:abce", "d8:intervali1e5:peersi3ee", "d8:intervali1e", "i5e",
        "d8:intervali99999999999999999999ee",
    ])
    func malformedRepliesAreTypedErrors(_ text: String) throws {
        #expect(throws: TrackerError.self) { try HTTPTrackerResponse.announce(Self.bytes(text)) }
    }

    @Test func effectiveIntervalIsBounded() {
        #expect(AnnounceResponse(interval: 1).effectiveInterval == 30)
        #expect(AnnounceResponse(interval: 10_000_000).effectiveInterval == 6 * 3600)
        #expect(AnnounceResponse(interval: 100, minInterval: 300).effectiveInterval == 300)
    }

    @Test func scrape() throws {
        let hash = [UInt8](repeating: 0xab, count: 20)
        var body = Self.bytes("d5:filesd20:")
        body += hash
        body += Self.bytes("d8:completei4e10:downloadedi9e10:incompletei2eeee")
        #expect(
            try HTTPTrackerResponse.scrape(body, infoHash: hash) == ScrapeResult(seeders: 4, completed: 9, leechers: 2))
        #expect(throws: TrackerError.self) {
            try HTTPTrackerResponse.scrape(body, infoHash: [UInt8](repeating: 1, count: 20))
        }
    }

    @Test(arguments: [
        ("i900e", 900), ("i0e", 0), ("i-5e", 0), ("i99999999999e", 6 * 3600),
    ])
    func scrapeFlagsMinRequestIntervalIsClamped(_ value: String, _ expected: Int) throws {
        let hash = [UInt8](repeating: 0xab, count: 20)
        var body = Self.bytes("d5:filesd20:")
        body += hash
        body += Self.bytes("d8:completei1e10:downloadedi2e10:incompletei3eee5:flagsd20:min_request_interval")
        body += Self.bytes(value + "ee")
        let result = try HTTPTrackerResponse.scrape(body, infoHash: hash)
        #expect(result == ScrapeResult(seeders: 1, completed: 2, leechers: 3, minRequestInterval: expected))
    }

    @Test func scrapeFailureReasonIsTyped() {
        #expect(throws: TrackerError.failure("no scrape here")) {
            try HTTPTrackerResponse.scrape(Self.bytes("d14:failure reason14:no scrape heree"), infoHash: [0])
        }
    }

    @Test(arguments: [
        ("http://t.example/announce", "http://t.example/scrape"),
        ("http://t.example/x/announce.php?pk=1", "http://t.example/x/scrape.php?pk=1"),
        ("http://t.example/a", nil),
    ])
    func scrapeURLs(_ announce: String, _ scrape: String?) {
        #expect(HTTPTrackerResponse.scrapeURL(announce: announce) == scrape)
    }
}
