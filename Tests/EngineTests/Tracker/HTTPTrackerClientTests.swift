import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct HTTPTrackerClientTests {
    static let client = HTTPTrackerClient(group: MultiThreadedEventLoopGroup.singleton)
    static let request = AnnounceRequestTests.request

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let compactReply: [UInt8] = {
        var body = bytes("d8:completei5e10:incompletei3e8:intervali1800e12:min intervali60e5:peers12:")
        body += [127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2]
        body += bytes("10:tracker id3:xyze")
        return body
    }()

    @Test func announceSendsTheExactRequestAndDecodesTheReply() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .ok(Self.compactReply) }
        defer { Task { await tracker.stop() } }
        var request = Self.request
        request.trackerId = "id 1"
        let response = try await Self.client.announce(url: tracker.url("/announce?passkey=abc"), request: request)
        #expect(response.peers.map(\.description) == ["127.0.0.1:6881", "127.0.0.2:6882"])
        #expect(response.seeders == 5 && response.leechers == 3 && response.trackerId == "xyz")

        let received = try #require(await tracker.next(1).first)
        #expect(received.path == "/announce")
        let query = received.query
        #expect(query["passkey"] == "abc")
        #expect(query["info_hash"] == "%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A")
        #expect(query["peer_id"] == "-BQ0010-abcdefghijkl")
        #expect(query["event"] == "started")
        #expect(query["key"] == "beef")
        #expect(query["numwant"] == "50")
        #expect(query["port"] == "6881")
        #expect(query["uploaded"] == "10" && query["downloaded"] == "20" && query["left"] == "30")
        #expect(query["compact"] == "1")
        #expect(query["trackerid"] == "id%201")
        #expect(received.headers["Host"] == ["127.0.0.1:\(tracker.port)"])
        #expect(received.headers["User-Agent"] == ["btq/0.1.0"])
        #expect(received.headers["Connection"] == ["close"])
    }

    @Test func hostNamesAreResolved() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .ok(Self.compactReply) }
        defer { Task { await tracker.stop() } }
        // Resolved by NIO's resolver; were it to yield ::1 as well (nothing listens there), only the
        // connection that won would carry the request.
        let url = "http://localhost:\(tracker.port)/announce"
        let response = try await Self.client.announce(url: url, request: Self.request)
        #expect(response.peers.count == 2)
        #expect(await tracker.next(1).first?.headers["Host"] == ["localhost:\(tracker.port)"])
    }

    @Test func scrapeAsksTheScrapeURL() async throws {
        let hash = Self.request.infoHash
        var body = Self.bytes("d5:filesd20:")
        body += hash
        body += Self.bytes("d8:completei7e10:downloadedi9e10:incompletei2eeee")
        let reply = body
        let tracker = try await FakeHTTPTracker.start { _ in .ok(reply) }
        defer { Task { await tracker.stop() } }
        let result = try await Self.client.scrape(url: tracker.url("/x/announce.php"), infoHash: hash)
        #expect(result == ScrapeResult(seeders: 7, completed: 9, leechers: 2))
        let received = try #require(await tracker.next(1).first)
        #expect(received.uri == "/x/scrape.php?info_hash=%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A")
        await #expect(throws: TrackerError.unsupportedURL(tracker.url("/tracker"))) {
            try await Self.client.scrape(url: tracker.url("/tracker"), infoHash: hash)
        }
    }

    /// Several torrents in one scrape (BEP 48): `info_hash` once for each, in order; the reply's entries
    /// for hashes not asked are ignored, and a hash it does not mention has no result.
    @Test func scrapeOfSeveralTorrentsInOneRequest() async throws {
        let hashes = (1...3).map { [UInt8](repeating: $0, count: 20) }
        var body = Self.bytes("d5:filesd")
        for (index, hash) in [hashes[0], hashes[1], [UInt8](repeating: 9, count: 20)].enumerated() {
            body += Self.bytes("20:") + hash + Self.bytes("d8:completei\(index + 1)e10:downloadedi0e10:incompletei0ee")
        }
        body += Self.bytes("e5:flagsd20:min_request_intervali900eee")
        let reply = body
        let tracker = try await FakeHTTPTracker.start { _ in .ok(reply) }
        defer { Task { await tracker.stop() } }
        let results = try await Self.client.scrape(url: tracker.url("/announce"), infoHashes: hashes)
        #expect(results.count == 2)
        #expect(results[hashes[0]] == ScrapeResult(seeders: 1, completed: 0, leechers: 0, minRequestInterval: 900))
        #expect(results[hashes[1]]?.seeders == 2 && results[hashes[2]] == nil)
        let received = try #require(await tracker.next(1).first)
        let query = (1...3).map { "info_hash=" + String(repeating: "%0\($0)", count: 20) }.joined(separator: "&")
        #expect(received.uri == "/scrape?" + query)
    }

    /// A tracker that reads only the first `info_hash` of a scrape, as some do: the batch of 64 goes as
    /// one request, the 63 left out are asked alone, every torrent gets its counts, and btq asks that
    /// tracker one hash at a time from then on.
    @Test func aTrackerReadingOneHashOfAScrapeIsLearned() async throws {
        let tracker = try await FakeHTTPTracker.start { request in
            guard let hash = Self.firstInfoHash(in: request.uri) else { return .status(400) }
            return .ok(
                Self.bytes("d5:filesd20:") + hash + Self.bytes("d8:completei5e10:downloadedi0e10:incompletei1eeee"))
        }
        defer { Task { await tracker.stop() } }
        let client = TrackerClient(group: MultiThreadedEventLoopGroup.singleton, scrapeGather: .seconds(3600))
        let url = tracker.url("/announce")
        let hashes = (1...TrackerClient.maxHTTPScrapeHashes).map { [UInt8](repeating: UInt8($0), count: 20) }
        let seeders = try await withThrowingTaskGroup(of: Int.self) { group in
            for hash in hashes { group.addTask { try await client.scrape(url: url, infoHash: hash).seeders } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(seeders == [Int](repeating: 5, count: hashes.count))
        #expect(client.scrapes.learnedMost(for: url) == 1)
        let sizes = await tracker.next(hashes.count).map { $0.uri.components(separatedBy: "info_hash=").count - 1 }
        #expect(sizes.sorted() == [Int](repeating: 1, count: hashes.count - 1) + [hashes.count])
        // The gathering time is an hour: alone, it goes at once.
        #expect(try await client.scrape(url: url, infoHash: [UInt8](repeating: 0xEE, count: 20)).seeders == 5)
    }

    /// The first `info_hash` of a query, decoded.
    static func firstInfoHash(in uri: String) -> [UInt8]? {
        guard let range = uri.range(of: "info_hash=") else { return nil }
        let encoded = Array(uri[range.upperBound...].prefix { $0 != "&" }.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < encoded.count {
            if encoded[index] == UInt8(ascii: "%"), index + 2 < encoded.count,
                let byte = UInt8(String(decoding: encoded[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(encoded[index])
                index += 1
            }
        }
        return bytes.count == 20 ? bytes : nil
    }

    @Test func statusOtherThan200Fails() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .status(404) }
        defer { Task { await tracker.stop() } }
        await #expect(throws: TrackerError.httpStatus(404)) {
            try await Self.client.announce(url: tracker.url("/announce"), request: Self.request)
        }
    }

    @Test func failureReasonBecomesAFailure() async throws {
        let reason = "Requested download is not authorized for use with this tracker"
        let body = Self.bytes("d14:failure reason\(reason.utf8.count):\(reason)e")
        let tracker = try await FakeHTTPTracker.start { _ in .ok(body) }
        defer { Task { await tracker.stop() } }
        await #expect(throws: TrackerError.failure(reason)) {
            try await Self.client.announce(url: tracker.url("/announce"), request: Self.request)
        }
    }

    @Test(arguments: [true, false])
    func oversizedBodyIsCutOffAtTheLimit(declared: Bool) async throws {
        let limit = HTTPTrackerResponse.maxBodyLength
        let tracker = try await FakeHTTPTracker.start { _ in
            declared
                ? .ok([UInt8](repeating: 0x78, count: limit + 1))
                : .chunked(total: limit + 256 * 1024, chunk: 64 * 1024)
        }
        defer { Task { await tracker.stop() } }
        await #expect(throws: TrackerError.tooLarge(limit: limit)) {
            try await Self.client.announce(url: tracker.url("/announce"), request: Self.request)
        }
    }

    @Test func bodyExactlyAtTheLimitIsRead() async throws {
        let client = HTTPTrackerClient(
            group: MultiThreadedEventLoopGroup.singleton, configuration: .init(maxBodyLength: Self.compactReply.count))
        let tracker = try await FakeHTTPTracker.start { _ in .ok(Self.compactReply) }
        defer { Task { await tracker.stop() } }
        let response = try await client.announce(url: tracker.url("/announce"), request: Self.request)
        #expect(response.peers.count == 2)
    }

    @Test func silentTrackerTimesOut() async throws {
        let client = HTTPTrackerClient(
            group: MultiThreadedEventLoopGroup.singleton, configuration: .init(totalTimeout: .milliseconds(150)))
        let tracker = try await FakeHTTPTracker.start { _ in .silent }
        defer { Task { await tracker.stop() } }
        // The tracker never answers: only the total timeout can end this.
        await #expect(throws: TrackerError.timedOut) {
            try await client.announce(url: tracker.url("/announce"), request: Self.request)
        }
    }

    @Test func requestsBeyondTheLimitWaitTheirTurnAndTheirTimeoutStartsWithIt() async throws {
        let client = HTTPTrackerClient(
            group: MultiThreadedEventLoopGroup.singleton,
            configuration: .init(totalTimeout: .milliseconds(300), maxConcurrentRequests: 2))
        let tracker = try await FakeHTTPTracker.start { _ in .silent }
        defer { Task { await tracker.stop() } }
        let announces = (0..<5).map { _ in
            Task { try await client.announce(url: tracker.url("/announce"), request: Self.request) }
        }
        // Two reach the tracker; three wait without a connection.
        #expect(await tracker.next(2).count == 2)
        #expect(try await poll(timeout: .seconds(10)) { client.requestsWaiting == 3 })
        for announce in announces {
            await #expect(throws: TrackerError.timedOut) { try await announce.value }
        }
        // Every one reached the (silent) tracker in its turn: none timed out while it waited.
        #expect(await tracker.next(3).count == 3)
        #expect(client.requestsWaiting == 0)
    }

    @Test func redirectsAreFollowed() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .ok(Self.compactReply) }
        defer { Task { await tracker.stop() } }
        // A second tracker whose redirect names the first one with an absolute URL.
        let first = tracker
        let absolute = try await FakeHTTPTracker.start { request in
            .redirect(307, location: first.url("/announce?" + request.uri.drop { $0 != "?" }.dropFirst()))
        }
        defer { Task { await absolute.stop() } }
        let response = try await Self.client.announce(url: absolute.url("/announce"), request: Self.request)
        #expect(response.peers.count == 2)
        let received = try #require(await tracker.next(1).first)
        #expect(received.path == "/announce")
        #expect(received.query["info_hash"] == "%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A")

        let chain = try await FakeHTTPTracker.start { request in
            switch request.path {
            case "/a": .redirect(301, location: "/b" + request.uri.drop { $0 != "?" })
            case "/b": .redirect(303, location: "/c" + request.uri.drop { $0 != "?" })
            default: .ok(Self.compactReply)
            }
        }
        defer { Task { await chain.stop() } }
        _ = try await Self.client.announce(url: chain.url("/a"), request: Self.request)
        #expect(await chain.next(3).map(\.path) == ["/a", "/b", "/c"])
    }

    @Test func redirectLoopStopsAfterThree() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .redirect(302, location: "/loop") }
        defer { Task { await tracker.stop() } }
        await #expect(throws: TrackerError.httpStatus(302)) {
            try await Self.client.announce(url: tracker.url("/loop"), request: Self.request)
        }
        #expect(await tracker.next(4).count == 4)
    }

    @Test func redirectToHTTPSIsFollowedOverTLS() async throws {
        // The second server speaks plain HTTP: following the redirect to https on its port starts a TLS
        // handshake it answers with a plain 400, which fails as a TLS error (not as an unsupported URL).
        let plain = try await FakeHTTPTracker.start { _ in .silent }
        defer { Task { await plain.stop() } }
        let secure = "https://127.0.0.1:\(plain.port)/announce"
        let tracker = try await FakeHTTPTracker.start { _ in .redirect(302, location: secure) }
        defer { Task { await tracker.stop() } }
        do {
            _ = try await Self.client.announce(url: tracker.url("/plain"), request: Self.request)
            Issue.record("a TLS handshake with a plain HTTP server succeeded")
        } catch let error as TrackerError {
            #expect(error.tlsError != nil, "\(error)")
            #expect(
                error.description.hasPrefix("tracker TLS failed: TLS handshake with 127.0.0.1:\(plain.port) failed"),
                "\(error)")
        }
        #expect(await tracker.next(1).map(\.path) == ["/plain"])
    }

    @Test func unusableCAFileFailsHTTPSButNotHTTP() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("btq-absent-\(UUID()).pem").path
        let client = HTTPTrackerClient(
            group: MultiThreadedEventLoopGroup.singleton, tls: TLSClientSettings(extraCAFile: missing))
        await #expect(throws: TrackerError.tls(.caFileUnreadable(missing, reason: "no such file"))) {
            try await client.announce(url: "https://127.0.0.1:1/announce", request: Self.request)
        }
        let tracker = try await FakeHTTPTracker.start { _ in .ok(Self.compactReply) }
        defer { Task { await tracker.stop() } }
        let response = try await client.announce(url: tracker.url("/announce"), request: Self.request)
        #expect(response.peers.count == 2)
    }

    @Test(arguments: ["wss://127.0.0.1:1/announce", "ftp://127.0.0.1/announce", "http://user@127.0.0.1/a"])
    func unsupportedURLsFailWithoutConnecting(_ url: String) async {
        await #expect(throws: TrackerError.unsupportedURL(url)) {
            try await Self.client.announce(url: url, request: Self.request)
        }
    }

    @Test func refusedConnectionIsAConnectionError() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .silent }
        let url = tracker.url("/announce")
        await tracker.stop()
        do {
            _ = try await Self.client.announce(url: url, request: Self.request)
            Issue.record("announce to a closed port succeeded")
        } catch let error as TrackerError {
            #expect(error.isTransient)
            #expect(error.description.hasPrefix("cannot reach tracker"))
        }
    }

    @Test func cancellationClosesTheConnection() async throws {
        let tracker = try await FakeHTTPTracker.start { _ in .silent }
        defer { Task { await tracker.stop() } }
        let task = Task { try await Self.client.announce(url: tracker.url("/announce"), request: Self.request) }
        _ = await tracker.next(1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
