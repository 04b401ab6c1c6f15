import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// A transport that answers as `script` says and reports every announce on ``calls``.
final class ScriptedTransport: TrackerTransport {
    struct Call: Sendable {
        var url: String
        var request: AnnounceRequest
    }

    let calls: AsyncStream<Call>
    private let continuation: AsyncStream<Call>.Continuation
    private let script: @Sendable (Call) async throws -> AnnounceResponse

    init(script: @escaping @Sendable (Call) async throws -> AnnounceResponse) {
        (calls, continuation) = AsyncStream.makeStream(of: Call.self)
        self.script = script
    }

    func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse {
        let call = Call(url: url, request: request)
        continuation.yield(call)
        return try await script(call)
    }

    func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult {
        throw TrackerError.unsupportedURL(url)
    }

    func next(_ count: Int) async -> [Call] {
        var out: [Call] = []
        for await call in calls {
            out.append(call)
            if out.count == count { break }
        }
        return out
    }
}

@Suite(.timeLimit(.minutes(5))) struct TrackerAnnouncerTests {
    static let identity = TrackerAnnouncer.Identity(
        infoHash: AnnounceRequestTests.request.infoHash, peerId: AnnounceRequestTests.request.peerId, port: 6881)
    static let own = PeerAddress(parsing: "127.0.0.1:6881")!
    static let peer = PeerAddress(parsing: "127.0.0.1:7000")!

    static func announcer(_ transport: ScriptedTransport, stopTimeout: Duration = .seconds(5)) -> TrackerAnnouncer {
        var generator = ZeroGenerator()
        let machine = AnnounceStateMachine(
            tiers: TrackerTiers([["http://a"], ["udp://b:1"]], using: &generator), key: 42)
        return TrackerAnnouncer(
            machine: machine, identity: identity, transport: transport,
            filter: TrackerPeerFilter(ownAddresses: [own]), stopTimeout: stopTimeout
        ) { .init(uploaded: 1, downloaded: 2, left: 3) }
    }

    @Test func failsOverReportsFilteredPeersThenCompletesAndStops() async throws {
        let transport = ScriptedTransport { call in
            if call.url == "http://a" && call.request.event == .started { throw TrackerError.timedOut }
            return AnnounceResponse(interval: 1800, seeders: 1, peers: [Self.own, Self.peer, Self.peer])
        }
        let announcer = Self.announcer(transport)
        let loop = Task { await announcer.run() }

        var events = announcer.events.makeAsyncIterator()
        guard case .status(let a) = await events.next() else {
            Issue.record("expected a status")
            return
        }
        #expect(a.url == "http://a" && a.failures == 1 && a.lastError == "tracker did not answer")
        #expect(a.nextAnnounceAt != nil && a.lastAnnounceAt != nil && a.lastSuccessAt == nil)
        #expect(await events.next() == .peers([Self.peer], from: "udp://b:1"))
        guard case .status(let b) = await events.next() else {
            Issue.record("expected a status")
            return
        }
        #expect(b.url == "udp://b:1" && b.seeders == 1 && b.failures == 0 && b.lastError == nil)

        let first = await transport.next(2)
        #expect(first.map(\.url) == ["http://a", "udp://b:1"])
        #expect(first.map(\.request.event) == [AnnounceEvent.started, .started])
        #expect(first.allSatisfy { $0.request.key == 42 && $0.request.numWant == 200 })
        #expect(first[1].request.uploaded == 1 && first[1].request.downloaded == 2 && first[1].request.left == 3)
        #expect(first[1].request.port == 6881 && first[1].request.infoHash == Self.identity.infoHash)

        await announcer.downloadCompleted()
        let completed = await transport.next(1)
        #expect(completed.map(\.url) == ["udp://b:1"] && completed.first?.request.event == .completed)

        await announcer.stop()
        await loop.value
        let stopped = await transport.next(1)
        #expect(stopped.first?.url == "udp://b:1" && stopped.first?.request.event == .stopped)
        #expect(stopped.first?.request.numWant == 0)
        var rest: [TrackerAnnouncer.Event] = []
        while let event = await events.next() { rest.append(event) }  // ends: the stream finished
        // The last event is the `stopped` announce's status. (What the `completed` announce's answer and the
        // scrapes reported before depends on whether they were answered before the stop cancelled them.)
        guard case .status(let last)? = rest.last else {
            Issue.record("expected the stop's status last, got \(rest)")
            return
        }
        #expect(last.url == "udp://b:1" && last.failures == 0)
        #expect(await announcer.statuses.map(\.url) == ["http://a", "udp://b:1"])
    }

    @Test func stopGivesUpOnATrackerThatDoesNotAnswer() async throws {
        let transport = ScriptedTransport { call in
            if call.request.event == .stopped { try await Task.sleep(for: .seconds(60)) }
            return AnnounceResponse(interval: 1800, peers: [Self.peer])
        }
        let announcer = Self.announcer(transport, stopTimeout: .milliseconds(50))
        let loop = Task { await announcer.run() }
        for await event in announcer.events {
            if case .peers = event { break }
        }
        let started = ContinuousClock.now
        await announcer.stop()
        await loop.value
        #expect(ContinuousClock.now - started < .seconds(30), "the stopped announce sleeps 60 s")
        let events = await transport.next(2).map(\.request.event)
        #expect(events == [AnnounceEvent.started, .stopped])
    }

    @Test func stopAbandonsAnAnnounceOnItsWay() async throws {
        let transport = ScriptedTransport { call in
            if call.request.event == .started { try await Task.sleep(for: .seconds(60)) }
            return AnnounceResponse(interval: 1800)
        }
        let announcer = Self.announcer(transport)
        let loop = Task { await announcer.run() }
        _ = await transport.next(1)
        await announcer.stop()
        await loop.value
        let statuses = await announcer.statuses
        #expect(statuses.allSatisfy { $0.failures == 0 && !$0.isUpdating })
    }

    @Test func cancellingRunEndsTheLoop() async throws {
        let transport = ScriptedTransport { _ in AnnounceResponse(interval: 1800, peers: [Self.peer]) }
        let announcer = Self.announcer(transport)
        let loop = Task { await announcer.run() }
        _ = await transport.next(1)
        loop.cancel()
        let ended = Mutex(false)
        Task {
            await loop.value
            ended.withLock { $0 = true }
        }
        #expect(try await poll(timeout: .seconds(10)) { ended.withLock { $0 } }, "run() returns once cancelled")
    }

    @Test func drivesRealTrackersThroughTheUnifiedClient() async throws {
        let http = try await FakeHTTPTracker.start { _ in .status(503) }
        let udp = try await FakeUDPTracker.start()
        let client = TrackerClient(
            group: MultiThreadedEventLoopGroup.singleton, udp: .init(bindIPv4: "127.0.0.1", bindIPv6: "::1"))
        var generator = ZeroGenerator()
        let machine = AnnounceStateMachine(
            tiers: TrackerTiers([[http.url("/announce")], [udp.url()]], using: &generator), key: 7)
        let announcer = TrackerAnnouncer(
            machine: machine, identity: Self.identity, transport: client,
            filter: TrackerPeerFilter(ownAddresses: [Self.own])
        ) { .init(uploaded: 0, downloaded: 0, left: 100) }
        let loop = Task { await announcer.run() }
        var peers: [PeerAddress] = []
        for await event in announcer.events {
            if case .peers(let list, _) = event {
                peers = list
                break
            }
        }
        #expect(peers.map(\.description) == ["127.0.0.2:6882"])
        let statuses = await announcer.statuses
        #expect(statuses.first?.lastError == "tracker answered HTTP 503")
        await announcer.stop()
        await loop.value
        #expect(await udp.next(3).map(\.action) == [0, 1, 1])  // connect, started, stopped
        await client.shutdown()
        await http.stop()
        await udp.stop()
    }
}
