import Synchronization
import TestSupport
import Testing

@testable import Engine

/// A transport whose announces always answer (no `downloaded`, as over UDP) and whose scrapes answer as
/// `scrape` says; it reports every request on ``log`` (`announce <event> <url>`, `scrape <url>`).
final class ScrapingTransport: TrackerTransport {
    let log: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let scrapes = Mutex(0)
    private let answer: @Sendable (String, Int) throws -> ScrapeResult
    private let announceCompleted: Int?

    /// `answer` gets the URL and the number of this scrape (1 first); the announces answer
    /// `announceCompleted` as their `downloaded` count (none by default).
    init(announceCompleted: Int? = nil, answer: @escaping @Sendable (String, Int) throws -> ScrapeResult) {
        (log, continuation) = AsyncStream.makeStream(of: String.self)
        self.answer = answer
        self.announceCompleted = announceCompleted
    }

    func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse {
        continuation.yield("announce \(request.event.rawValue) \(url)")
        return AnnounceResponse(interval: 1800, seeders: 1, leechers: 1, completed: announceCompleted)
    }

    func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult {
        continuation.yield("scrape \(url)")
        let number = scrapes.withLock {
            $0 += 1
            return $0
        }
        return try answer(url, number)
    }

    /// Reads the log until a line `matching`, and returns the lines read.
    func until(_ matching: (String) -> Bool) async -> [String] {
        var lines: [String] = []
        for await line in log {
            lines.append(line)
            if matching(line) { break }
        }
        return lines
    }
}

@Suite(.timeLimit(.minutes(1))) struct TrackerAnnouncerScrapeTests {
    static let scrapable = "http://t.example/announce"
    static let unscrapable = "http://n.example/tracker"

    static func announcer(_ transport: ScrapingTransport) -> TrackerAnnouncer {
        var generator = ZeroGenerator()
        let machine = AnnounceStateMachine(
            tiers: TrackerTiers([[scrapable], [unscrapable]], using: &generator), key: 42)
        return TrackerAnnouncer(machine: machine, identity: TrackerAnnouncerTests.identity, transport: transport) {
            .init(uploaded: 0, downloaded: 0, left: 0)
        }
    }

    /// The next `.status` event of `url` that satisfies `condition`.
    static func status(
        of url: String, in events: inout AsyncStream<TrackerAnnouncer.Event>.Iterator,
        where condition: (TrackerStatus) -> Bool
    ) async -> TrackerStatus? {
        while let event = await events.next() {
            if case .status(let status) = event, status.url == url, condition(status) { return status }
        }
        return nil
    }

    @Test func scrapesFillTheStatusAndFollowTheCompletedAnnounce() async throws {
        let transport = ScrapingTransport { _, number in ScrapeResult(seeders: 5, completed: number, leechers: 2) }
        let announcer = Self.announcer(transport)
        let announces = Task { await announcer.run() }
        let scrapes = Task { await announcer.runScrapes() }
        var events = announcer.events.makeAsyncIterator()

        let scraped = await Self.status(of: Self.scrapable, in: &events) { $0.lastScrapeAt != nil }
        #expect(scraped?.seeders == 5 && scraped?.leechers == 2 && (scraped?.completed ?? 0) >= 1)
        #expect(scraped?.scrapeError == nil)

        // Once the `started` announce is on its way, the completion is a `completed` announce of its own.
        let started = await transport.until { $0 == "announce started \(Self.scrapable)" }
        await announcer.downloadCompleted()
        let afterCompletion = started + (await transport.until { $0 == "announce completed \(Self.scrapable)" })
        let next = await transport.until { $0.hasPrefix("scrape ") }
        #expect(next == ["scrape \(Self.scrapable)"], "the completed announce is followed by a scrape")
        let count = afterCompletion.filter { $0.hasPrefix("scrape ") }.count
        let final = await Self.status(of: Self.scrapable, in: &events) { ($0.completed ?? 0) > count }
        #expect(final?.completed != nil)

        await announcer.stop()
        await announces.value
        await scrapes.value
        #expect(!(afterCompletion + next).contains("scrape \(Self.unscrapable)"))
    }

    /// An announce answer that carries seeders, leechers and completed downloads (as opentracker's HTTP
    /// announces do) is not followed by a scrape: the next one is the regular interval's.
    @Test func anAnnounceCarryingEveryCountIsNotFollowedByAScrape() async throws {
        let transport = ScrapingTransport(announceCompleted: 7) { _, _ in
            ScrapeResult(seeders: 5, completed: 3, leechers: 2)
        }
        let announcer = Self.announcer(transport)
        let announces = Task { await announcer.run() }
        let scrapes = Task { await announcer.runScrapes() }
        var events = announcer.events.makeAsyncIterator()
        // The scrape at the start, then both announces answered.
        _ = await Self.status(of: Self.scrapable, in: &events) { $0.lastScrapeAt != nil }
        _ = await transport.until { $0 == "announce started \(Self.scrapable)" }
        await announcer.downloadCompleted()
        _ = await transport.until { $0 == "announce completed \(Self.scrapable)" }
        #expect(
            try await poll(timeout: .seconds(10)) {
                await announcer.statuses.first { $0.url == Self.scrapable }?.isUpdating == false
            })
        let status = await announcer.statuses.first { $0.url == Self.scrapable }
        #expect(status?.completed == 7 && status?.seeders == 1 && status?.leechers == 1)
        // A scrape after them would have put its own counts (5, 3, 2) in the status, or be on its way
        // (then none is due): the next one is the interval's.
        let due = try #require(await announcer.nextScrapeDue())
        #expect(due.rawValue - Timestamp.now.rawValue > 1000 * 1000, "the next scrape is the regular one")

        await announcer.stop()
        await announces.value
        await scrapes.value
    }

    /// A tracker that does not know the torrent yet (its first scrape overtook its first announce) leaves
    /// it out of the reply; the announce answered without a completed count is followed by a scrape at
    /// once, which fills the counts, instead of a back-off of 5 minutes.
    @Test func aScrapeThatOvertookTheFirstAnnounceIsAskedAgainAfterIt() async throws {
        let transport = ScrapingTransport { _, number in
            if number == 1 { throw TrackerError.notInScrapeReply }
            return ScrapeResult(seeders: 5, completed: 3, leechers: 2)
        }
        let announcer = Self.announcer(transport)
        let announces = Task { await announcer.run() }
        let scrapes = Task { await announcer.runScrapes() }

        _ = await transport.until { $0 == "announce started \(Self.scrapable)" }
        #expect(
            try await poll(timeout: .seconds(20)) {
                await announcer.statuses.first { $0.url == Self.scrapable }?.lastScrapeAt != nil
            })
        let status = await announcer.statuses.first { $0.url == Self.scrapable }
        #expect(status?.completed == 3 && status?.seeders == 5 && status?.scrapeError == nil)
        let due = try #require(await announcer.nextScrapeDue())
        #expect(due.rawValue - Timestamp.now.rawValue > 1000 * 1000, "then the regular interval")

        await announcer.stop()
        await announces.value
        await scrapes.value
    }

    @Test func aFailedScrapeIsKeptInTheStatusAndTheAnnouncesGoOn() async throws {
        let transport = ScrapingTransport { _, _ in throw TrackerError.httpStatus(404) }
        let announcer = Self.announcer(transport)
        let announces = Task { await announcer.run() }
        let scrapes = Task { await announcer.runScrapes() }
        var events = announcer.events.makeAsyncIterator()

        let failed = await Self.status(of: Self.scrapable, in: &events) { $0.scrapeError != nil }
        #expect(failed?.scrapeError == "tracker answered HTTP 404" && failed?.lastScrapeAt == nil)
        _ = await transport.until { $0 == "announce started \(Self.scrapable)" }
        await announcer.downloadCompleted()
        _ = await transport.until { $0 == "announce completed \(Self.scrapable)" }
        let status = await announcer.statuses.first { $0.url == Self.scrapable }
        #expect(status?.lastError == nil && status?.failures == 0 && status?.seeders == 1)

        await announcer.stop()
        await announces.value
        await scrapes.value
    }
}
