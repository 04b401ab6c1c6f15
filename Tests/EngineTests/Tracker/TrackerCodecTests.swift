import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerAddressTests {
    @Test(arguments: [
        ("127.0.0.1:6881", "127.0.0.1:6881"),
        ("[::1]:51413", "[::1]:51413"),
        ("[2001:db8::ff00:42:8329]:1", "[2001:db8::ff00:42:8329]:1"),
        ("[::ffff:1.2.3.4]:80", "[::ffff:102:304]:80"),
        ("localhost:7000", "localhost:7000"),
    ])
    func parsesAndPrints(_ text: String, _ printed: String) throws {
        let address = try #require(PeerAddress(parsing: text))
        #expect(address.description == printed)
    }

    @Test(arguments: [
        "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":80", "[::1]80", "[::1", "1::2::3:80", "[1::2::3]:80",
        "256.1.1.1:80x", "[:::]:1", "a b:1", "[12345::]:1",
    ])
    func rejects(_ text: String) {
        #expect(PeerAddress(parsing: text) == nil)
    }

    @Test func compactLists() {
        let v4: [UInt8] = [127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 0, 192, 168]
        #expect(PeerAddress.compactIPv4(v4).map(\.description) == ["127.0.0.1:6881"])
        var v6 = [UInt8](repeating: 0, count: 15) + [1, 0x1a, 0xe1]
        v6 += [1, 2, 3]
        #expect(PeerAddress.compactIPv6(v6).map(\.description) == ["[::1]:6881"])
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881)
        #expect(address.compact == [127, 0, 0, 1, 0x1a, 0xe1])
        #expect(address.isLoopback)
    }
}

@Suite(.timeLimit(.minutes(5))) struct AnnounceRequestTests {
    static let request = AnnounceRequest(
        infoHash: [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56,
            0x78, 0x9a,
        ],
        peerId: Array("-BQ0010-abcdefghijkl".utf8), port: 6881, uploaded: 10, downloaded: 20, left: 30,
        event: .started, numWant: 50, key: 0xbeef)

    @Test func httpURLEncodesBinaryByteByByte() {
        let url = Self.request.httpURL(base: "http://127.0.0.1:6969/announce")
        #expect(
            url
                == "http://127.0.0.1:6969/announce?info_hash=%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A"
                + "&peer_id=-BQ0010-abcdefghijkl&port=6881&uploaded=10&downloaded=20&left=30&compact=1&no_peer_id=1"
                + "&numwant=50&key=beef&event=started")
    }

    @Test func httpURLKeepsAnExistingQuery() {
        var request = Self.request
        request.event = .none
        request.trackerId = "a b"
        let url = request.httpURL(base: "http://127.0.0.1:6969/announce?passkey=xyz#frag")
        #expect(url.hasPrefix("http://127.0.0.1:6969/announce?passkey=xyz&info_hash="))
        #expect(!url.contains("event="))
        #expect(url.hasSuffix("&trackerid=a%20b"))
    }
}

@Suite(.timeLimit(.minutes(5))) struct UDPTrackerMessageTests {
    @Test func connectRequestLayout() {
        let packet = UDPTrackerMessage.connectRequest(transactionId: 0x0102_0304)
        #expect(packet == [0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 1, 2, 3, 4])
    }

    @Test func announceRequestLayout() {
        let packet = UDPTrackerMessage.announceRequest(
            connectionId: 0x1122_3344_5566_7788, transactionId: 9, AnnounceRequestTests.request)
        #expect(packet.count == 98)
        #expect(Array(packet[0..<8]) == [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        #expect(Array(packet[8..<16]) == [0, 0, 0, 1, 0, 0, 0, 9])
        #expect(Array(packet[16..<36]) == AnnounceRequestTests.request.infoHash)
        #expect(packet.readBigEndianUInt64(at: 56) == 20)  // downloaded
        #expect(packet.readBigEndianUInt64(at: 64) == 30)  // left
        #expect(packet.readBigEndianUInt64(at: 72) == 10)  // uploaded
        #expect(packet.readBigEndianUInt32(at: 80) == 2)  // started
        #expect(packet.readBigEndianUInt32(at: 88) == 0xbeef)
        #expect(packet.readBigEndianUInt32(at: 92) == 50)
        #expect(Array(packet[96..<98]) == [0x1a, 0xe1])
    }

    @Test func decodesConnectAnnounceScrapeAndError() throws {
        var connect: [UInt8] = []
        connect.appendBigEndian(UInt32(0))
        connect.appendBigEndian(UInt32(7))
        connect.appendBigEndian(UInt64(0xdead_beef))
        #expect(
            try UDPTrackerMessage.decodeReply(connect, transactionId: 7, expecting: .connect)
                == .connected(connectionId: 0xdead_beef))

        var announce: [UInt8] = []
        for value: UInt32 in [1, 7, 1800, 3, 5] { announce.appendBigEndian(value) }
        announce += [127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2]
        let reply = try UDPTrackerMessage.decodeReply(announce, transactionId: 7, expecting: .announce)
        guard case .announced(let response) = reply else {
            Issue.record("expected an announce reply")
            return
        }
        #expect(response.interval == 1800)
        #expect(response.leechers == 3)
        #expect(response.seeders == 5)
        #expect(response.peers.map(\.description) == ["127.0.0.1:6881", "127.0.0.2:6882"])

        var scrape: [UInt8] = []
        for value: UInt32 in [2, 7, 10, 20, 30] { scrape.appendBigEndian(value) }
        #expect(
            try UDPTrackerMessage.decodeReply(scrape, transactionId: 7, expecting: .scrape, expectedScrapeCount: 1)
                == .scraped([ScrapeResult(seeders: 10, completed: 20, leechers: 30)]))

        var error: [UInt8] = []
        error.appendBigEndian(UInt32(3))
        error.appendBigEndian(UInt32(7))
        error += Array("not authorized".utf8)
        #expect(
            try UDPTrackerMessage.decodeReply(error, transactionId: 7, expecting: .announce) == .error("not authorized")
        )
    }

    @Test(arguments: [
        ([UInt8](), UDPTrackerMessage.Action.connect),
        ([0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1], .connect),  // wrong transaction
        ([0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1], .connect),  // wrong action
        ([0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0], .connect),  // short
        ([0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0], .announce),  // short
        ([0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0], .scrape),  // no entries
    ])
    func rejectsMalformedReplies(_ packet: [UInt8], _ action: UDPTrackerMessage.Action) {
        #expect(throws: TrackerError.self) {
            try UDPTrackerMessage.decodeReply(packet, transactionId: 7, expecting: action, expectedScrapeCount: 1)
        }
    }

    @Test func retransmitDelaysDoubleAndCap() {
        #expect((0..<6).map { UDPTrackerMessage.retransmitDelay(attempt: $0) } == [15, 30, 60, 120, 120, 120])
        #expect(UDPTrackerMessage.retransmitDelay(attempt: 8, maxExponent: 8) == 3840)
    }
}

@Suite(.timeLimit(.minutes(5))) struct TrackerTiersTests {
    struct CountingGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    @Test func shufflesWithinTiersAndPromotes() {
        var generator = CountingGenerator(state: 1)
        var tiers = TrackerTiers([["a", "b", "c"], [], ["d", "a"], ["e"]], using: &generator)
        #expect(tiers.tiers.count == 3)
        #expect(Set(tiers.tiers[0]) == ["a", "b", "c"])
        #expect(tiers.tiers[1] == ["d"])
        let last = tiers.tiers[0].last!
        tiers.promote(last)
        #expect(tiers.tiers[0].first == last)
        #expect(tiers.ordered.count == 5)
    }
}
