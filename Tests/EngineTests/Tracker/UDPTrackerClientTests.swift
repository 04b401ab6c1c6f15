import NIOCore
import NIOPosix
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct UDPTrackerClientTests {
    static let request = AnnounceRequestTests.request

    /// A loopback client; `base` is the first retransmission delay.
    static func client(
        base: Duration = .seconds(5), attempts: Int = 4, lifetime: Duration = .seconds(60)
    )
        -> UDPTrackerClient
    {
        UDPTrackerClient(
            group: MultiThreadedEventLoopGroup.singleton,
            configuration: .init(
                bindIPv4: "127.0.0.1", bindIPv6: "::1",
                timing: .init(baseDelay: base, maxAttempts: attempts, connectionIdLifetime: lifetime)))
    }

    /// Runs `body` with a fake tracker and a client, closing both afterwards.
    static func with(
        _ behavior: FakeUDPTracker.Behavior = .init(), host: String = "127.0.0.1", client: UDPTrackerClient = client(),
        _ body: (FakeUDPTracker, UDPTrackerClient) async throws -> Void
    ) async throws {
        let tracker = try await FakeUDPTracker.start(host: host, behavior: behavior)
        do {
            try await body(tracker, client)
        } catch {
            await client.close()
            await tracker.stop()
            throw error
        }
        await client.close()
        await tracker.stop()
    }

    @Test func connectsThenAnnouncesWithTheExactFields() async throws {
        try await Self.with { tracker, client in
            let response = try await client.announce(url: tracker.url("/announce?x=1"), request: Self.request)
            #expect(response.interval == 1800 && response.seeders == 5 && response.leechers == 3)
            #expect(response.peers.map(\.description) == ["127.0.0.1:6881", "127.0.0.2:6882"])

            let packets = await tracker.next(2)
            #expect(packets.map(\.action) == [0, 1])
            #expect(packets[0].bytes.count == 16)
            #expect(packets[0].connectionId == UDPTrackerMessage.protocolId)
            let announce = packets[1].bytes
            #expect(announce.count == 98)
            #expect(packets[1].connectionId == 0x1111_2222_3333_0001)
            #expect(packets[0].transactionId != packets[1].transactionId)
            #expect(Array(announce[16..<36]) == Self.request.infoHash)
            #expect(Array(announce[36..<56]) == Self.request.peerId)
            #expect(announce.readBigEndianUInt64(at: 56) == 20)  // downloaded
            #expect(announce.readBigEndianUInt64(at: 64) == 30)  // left
            #expect(announce.readBigEndianUInt64(at: 72) == 10)  // uploaded
            #expect(announce.readBigEndianUInt32(at: 80) == 2)  // started
            #expect(announce.readBigEndianUInt32(at: 84) == 0)  // ip: sender's
            #expect(announce.readBigEndianUInt32(at: 88) == 0xbeef)  // key
            #expect(announce.readBigEndianUInt32(at: 92) == 50)  // numwant
            #expect(Array(announce[96..<98]) == [0x1a, 0xe1])  // port
            let local = try #require(await client.localAddress())
            #expect(local.ipAddress == "127.0.0.1")
        }
    }

    @Test func connectionIdIsReusedWithinItsLifetime() async throws {
        try await Self.with { tracker, client in
            _ = try await client.announce(url: tracker.url(), request: Self.request)
            _ = try await client.announce(url: tracker.url(), request: Self.request)
            _ = try await client.scrape(url: tracker.url(), infoHash: Self.request.infoHash)
            let packets = await tracker.next(4)
            #expect(packets.map(\.action) == [0, 1, 1, 2])
            #expect(Set(packets.dropFirst().map(\.connectionId)) == [0x1111_2222_3333_0001])
        }
    }

    @Test func expiredConnectionIdIsRenewed() async throws {
        try await Self.with(client: Self.client(lifetime: .zero)) { tracker, client in
            _ = try await client.announce(url: tracker.url(), request: Self.request)
            _ = try await client.announce(url: tracker.url(), request: Self.request)
            let packets = await tracker.next(4)
            #expect(packets.map(\.action) == [0, 1, 0, 1])
            #expect(packets[3].connectionId == 0x1111_2222_3333_0002)
        }
    }

    @Test func scrapeReturnsResultsInOrder() async throws {
        try await Self.with { tracker, client in
            let hashes = (0..<3).map { [UInt8](repeating: UInt8($0), count: 20) }
            let results = try await client.scrape(url: tracker.url(), infoHashes: hashes)
            #expect(results.map(\.completed) == [0, 1, 2])
            #expect(results.allSatisfy { $0.seeders == 5 && $0.leechers == 3 })
            let packets = await tracker.next(2)
            #expect(packets[1].bytes.count == 16 + 60)
            #expect(Array(packets[1].bytes[16...]) == hashes.flatMap { $0 })
        }
    }

    @Test func lostPacketsAreRetransmitted() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.dropFirst = 2
        try await Self.with(behavior, client: Self.client(base: .milliseconds(50), attempts: 6)) { tracker, client in
            let response = try await client.announce(url: tracker.url(), request: Self.request)
            #expect(response.peers.count == 2)
            // Two connects are lost, the third is answered; on a loaded machine its reply may come after
            // the next retransmission, so more connects may precede the announce.
            let packets = await tracker.through(action: 1)
            #expect(packets.count >= 4)
            #expect(packets.prefix(3).map(\.dropped) == [true, true, false])
            #expect(packets.dropLast().allSatisfy { $0.action == 0 })
            #expect(packets.dropFirst(2).allSatisfy { !$0.dropped })
            #expect(Set(packets.map(\.transactionId)).count == packets.count)
        }
    }

    @Test func silenceEndsInATimeoutAfterTheLastAttempt() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.silent = true
        try await Self.with(behavior, client: Self.client(base: .milliseconds(5), attempts: 3)) { tracker, client in
            await #expect(throws: TrackerError.timedOut) {
                try await client.announce(url: tracker.url(), request: Self.request)
            }
            #expect(await tracker.next(3).map(\.action) == [0, 0, 0])
        }
    }

    @Test func wrongTransactionIdIsIgnored() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.wrongTransactionFirst = true
        try await Self.with(behavior) { tracker, client in
            let response = try await client.announce(url: tracker.url(), request: Self.request)
            #expect(response.peers.count == 2)
            #expect(await tracker.next(2).map(\.action) == [0, 1])
        }
    }

    @Test func replyFromAnotherAddressIsIgnored() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.spoofFromOtherSocket = true
        try await Self.with(behavior) { tracker, client in
            let response = try await client.announce(url: tracker.url(), request: Self.request)
            #expect(response.peers.map(\.description) == ["127.0.0.1:6881", "127.0.0.2:6882"])
        }
    }

    @Test func errorActionIsAFailureAndDropsTheConnectionId() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.errorMessage = "Requested download is not authorized for use with this tracker."
        try await Self.with(behavior) { tracker, client in
            await #expect(throws: TrackerError.failure(behavior.errorMessage!)) {
                try await client.announce(url: tracker.url(), request: Self.request)
            }
            await #expect(throws: TrackerError.failure(behavior.errorMessage!)) {
                try await client.scrape(url: tracker.url(), infoHash: Self.request.infoHash)
            }
            #expect(await tracker.next(4).map(\.action) == [0, 1, 0, 2])
        }
    }

    @Test func ipv6TrackerGetsEighteenBytePeers() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.peers = [PeerAddress(parsing: "[::1]:7000")!, PeerAddress(parsing: "[2001:db8::1]:7001")!]
        try await Self.with(behavior, host: "::1") { tracker, client in
            let response = try await client.announce(url: tracker.url(), request: Self.request)
            #expect(response.peers.map(\.description) == ["[::1]:7000", "[2001:db8::1]:7001"])
            let local = try #require(await client.localAddress(ipv6: true))
            #expect(local.ipAddress == "::1")
        }
    }

    @Test func oneSocketServesEveryTracker() async throws {
        let client = Self.client()
        let first = try await FakeUDPTracker.start()
        let second = try await FakeUDPTracker.start()
        async let a = client.announce(url: first.url(), request: Self.request)
        async let b = client.announce(url: second.url(), request: Self.request)
        let (ra, rb) = try await (a, b)
        #expect(ra.peers.count == 2 && rb.peers.count == 2)
        let local = try #require(await client.localAddress())
        await client.close()
        await #expect(throws: TrackerError.self) {
            try await client.announce(url: first.url(), request: Self.request)
        }
        await first.stop()
        await second.stop()
        #expect(local.port != nil)
    }

    @Test func cancellationEndsTheWait() async throws {
        var behavior = FakeUDPTracker.Behavior()
        behavior.silent = true
        try await Self.with(behavior) { tracker, client in
            let task = Task { try await client.announce(url: tracker.url(), request: Self.request) }
            _ = await tracker.next(1)
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
        }
    }

    @Test(arguments: ["udp://127.0.0.1/announce", "udp://[::1/announce", "http://127.0.0.1:1/announce"])
    func badURLs(_ url: String) async {
        let client = Self.client()
        await #expect(throws: TrackerError.unsupportedURL(url)) {
            try await client.announce(url: url, request: Self.request)
        }
        await client.close()
    }

    @Test func timingDoublesFromTheBase() {
        let timing = UDPTrackerClient.Timing(baseDelay: .milliseconds(10), maxExponent: 2)
        #expect((0..<4).map { timing.delay(attempt: $0) } == [10, 20, 40, 40].map { .milliseconds($0) })
        #expect(UDPTrackerClient.Timing().delay(attempt: 1) == .seconds(30))
    }
}
