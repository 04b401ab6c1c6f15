import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct ScrapeScheduleTests {
    static func t(_ seconds: Int) -> Timestamp { AnnounceStateMachineTests.t(seconds) }
    static let a = "http://a.example/announce"
    static let u = "udp://u.example:1"

    static func ok(_ minRequestInterval: Int? = nil) -> Result<ScrapeResult, TrackerError> {
        .success(ScrapeResult(seeders: 1, completed: 2, leechers: 3, minRequestInterval: minRequestInterval))
    }

    @Test func onlyTrackersWithAScrapeURLAreScrapedAllAtTheStartOnceEach() {
        var schedule = ScrapeSchedule(
            urls: [Self.a, "http://b.example/tracker", Self.u, "wss://w.example/announce", Self.a], now: Self.t(0))
        #expect(schedule.urls == [Self.a, Self.u])
        #expect(schedule.nextDue(now: Self.t(0)) == Self.t(0))
        #expect(schedule.due(now: Self.t(0)) == [Self.a, Self.u])
        #expect(schedule.due(now: Self.t(5000)).isEmpty, "each is on its way")
        #expect(schedule.nextDue(now: Self.t(0)) == nil)
    }

    @Test func regularScrapesAndAScrapeAfterEachAnnounce() {
        var schedule = ScrapeSchedule(urls: [Self.a], now: Self.t(0))
        _ = schedule.due(now: Self.t(0))
        schedule.record(Self.ok(), for: Self.a, now: Self.t(1))
        #expect(schedule.nextDue(now: Self.t(1)) == Self.t(1801))
        #expect(schedule.due(now: Self.t(1800)).isEmpty)
        #expect(schedule.due(now: Self.t(1801)) == [Self.a])
        schedule.record(Self.ok(), for: Self.a, now: Self.t(1802))
        schedule.announced(Self.a, now: Self.t(1900))
        #expect(schedule.due(now: Self.t(1900)) == [Self.a])
        schedule.record(Self.ok(), for: Self.a, now: Self.t(1901))
        #expect(schedule.nextDue(now: Self.t(1901)) == Self.t(3701))
        #expect(schedule.due(now: Self.t(3701)) == [Self.a])
        schedule.announced(Self.a, now: Self.t(3702))  // while it is on its way: scraped again once answered
        schedule.record(Self.ok(), for: Self.a, now: Self.t(3703))
        #expect(schedule.nextDue(now: Self.t(3703)) == Self.t(3703))
        #expect(schedule.due(now: Self.t(3703)) == [Self.a])
        schedule.record(Self.ok(), for: Self.a, now: Self.t(3704))
        #expect(schedule.nextDue(now: Self.t(3704)) == Self.t(5504))
    }

    @Test func minRequestIntervalHoldsBackTheScrapeAfterAnAnnounceAndTheRegularOne() {
        var schedule = ScrapeSchedule(urls: [Self.a, Self.u], now: Self.t(0))
        _ = schedule.due(now: Self.t(0))
        schedule.record(Self.ok(600), for: Self.a, now: Self.t(0))
        schedule.record(Self.ok(7200), for: Self.u, now: Self.t(0))
        schedule.announced(Self.a, now: Self.t(10))
        schedule.announced(Self.u, now: Self.t(10))
        #expect(schedule.due(now: Self.t(599)).isEmpty)
        #expect(schedule.due(now: Self.t(600)) == [Self.a])
        #expect(schedule.due(now: Self.t(7199)).isEmpty, "7200 s asked for, longer than the 30 min interval")
        #expect(schedule.due(now: Self.t(7200)) == [Self.u])
    }

    @Test func failuresBackOffDoublingAndEachAnnounceStillAsksForOneScrape() {
        var schedule = ScrapeSchedule(urls: [Self.a], now: Self.t(0))
        _ = schedule.due(now: Self.t(0))
        schedule.record(.failure(.timedOut), for: Self.a, now: Self.t(0))
        #expect(schedule.nextDue(now: Self.t(0)) == Self.t(300))
        #expect(schedule.due(now: Self.t(299)).isEmpty)
        schedule.announced(Self.a, now: Self.t(299))
        #expect(schedule.due(now: Self.t(299)) == [Self.a], "the tracker answered an announce: it is up")
        schedule.record(.failure(.httpStatus(404)), for: Self.a, now: Self.t(300))
        #expect(schedule.nextDue(now: Self.t(300)) == Self.t(900), "the second failure in a row: 600 s")
        schedule.announced(Self.a, now: Self.t(400))
        #expect(schedule.due(now: Self.t(400)) == [Self.a])
        schedule.record(.failure(.httpStatus(404)), for: Self.a, now: Self.t(401))
        #expect(schedule.nextDue(now: Self.t(401)) == Self.t(1601), "the third: 1200 s")
        #expect(schedule.due(now: Self.t(1600)).isEmpty, "no announce: the back-off holds")
        _ = schedule.due(now: Self.t(1601))
        schedule.record(Self.ok(), for: Self.a, now: Self.t(1601))
        #expect(schedule.nextDue(now: Self.t(1601)) == Self.t(3401), "a success ends the back-off")
        _ = schedule.due(now: Self.t(3401))
        schedule.record(.failure(.timedOut), for: Self.a, now: Self.t(3401))
        #expect(schedule.nextDue(now: Self.t(3401)) == Self.t(3701), "counted afresh: 300 s")
        #expect(ScrapeSchedule.Configuration().retryDelay(failures: 40) == 3600)
    }

    /// A reply without the torrent (the tracker does not know it yet: the first scrape overtook the first
    /// announce) is not held against the tracker: the scrape after the next announce goes at once.
    @Test func aReplyWithoutTheTorrentWaitsForTheNextAnnounceWithoutBackingOff() {
        var schedule = ScrapeSchedule(urls: [Self.u, Self.a], now: Self.t(0))
        #expect(schedule.due(now: Self.t(0)) == [Self.u, Self.a])
        schedule.announced(Self.u, now: Self.t(1))  // answered while the scrape of u was on its way
        schedule.record(.failure(.notInScrapeReply), for: Self.u, now: Self.t(2))
        schedule.record(.failure(.notInScrapeReply), for: Self.a, now: Self.t(2))
        #expect(schedule.due(now: Self.t(2)) == [Self.u], "u's announce made the torrent known")
        #expect(schedule.nextDue(now: Self.t(2)) == Self.t(1802), "a, no announce since: the regular interval")
        schedule.announced(Self.a, now: Self.t(10))
        #expect(schedule.due(now: Self.t(10)) == [Self.a])
        schedule.record(.failure(.notInScrapeReply), for: Self.a, now: Self.t(11))
        schedule.record(Self.ok(), for: Self.u, now: Self.t(11))
        #expect(schedule.nextDue(now: Self.t(11)) == Self.t(1811), "still unknown: no back-off either")
        schedule.announced(Self.a, now: Self.t(20))
        #expect(schedule.due(now: Self.t(20)) == [Self.a], "each announce asks once more")
        schedule.record(.failure(.timedOut), for: Self.a, now: Self.t(21))
        #expect(schedule.nextDue(now: Self.t(21)) == Self.t(321), "a real failure, the first: 300 s")
    }

    /// Torrents started together drift apart: each waits its own share (from its key) of a tenth more than
    /// the back-off and the regular interval.
    @Test func eachTorrentWaitsItsShareOfTheSpread() {
        let cases: [(key: UInt32, retry: Int, regular: Int)] = [
            (0, 300, 1800), (500, 315, 1890), (999, 329, 1979), (1999, 329, 1979),
        ]
        for (key, retry, regular) in cases {
            var schedule = ScrapeSchedule(urls: [Self.a], now: Self.t(0), configuration: .spread, key: key)
            _ = schedule.due(now: Self.t(0))
            schedule.record(.failure(.timedOut), for: Self.a, now: Self.t(0))
            #expect(schedule.nextDue(now: Self.t(0)) == Self.t(retry), "key \(key)")
            #expect(schedule.due(now: Self.t(retry)) == [Self.a])
            schedule.record(Self.ok(), for: Self.a, now: Self.t(retry))
            #expect(schedule.nextDue(now: Self.t(retry)) == Self.t(retry + regular), "key \(key)")
        }
    }

    @Test func aTrackerThatCannotBeScrapedIsDroppedAndAnAbandonedScrapeIsDueAgain() {
        var schedule = ScrapeSchedule(urls: [Self.a, Self.u], now: Self.t(0))
        #expect(schedule.due(now: Self.t(0)) == [Self.a, Self.u])
        schedule.record(.failure(.unsupportedURL(Self.a)), for: Self.a, now: Self.t(1))
        schedule.abandon(Self.u)
        #expect(schedule.urls == [Self.u])
        #expect(schedule.due(now: Self.t(1)) == [Self.u])
        schedule.record(Self.ok(), for: "http://unknown.example/announce", now: Self.t(1))
        #expect(schedule.urls == [Self.u])
    }

    @Test func aScrapeFillsTheTrackerStatusAndItsErrorLeavesTheAnnounceAlone() {
        var generator = ZeroGenerator()
        var machine = AnnounceStateMachine(tiers: TrackerTiers([[Self.u]], using: &generator), key: 1)
        let job = machine.plan(now: Self.t(0))[0]
        machine.record(
            .success(AnnounceResponse(interval: 1800, seeders: 4, leechers: 5)), for: job, now: Self.t(0))
        #expect(machine.status(of: Self.u)?.completed == nil)
        machine.recordScrape(Self.ok(), for: Self.u, now: Self.t(1))
        var status = machine.status(of: Self.u)
        #expect(status?.seeders == 1 && status?.leechers == 3 && status?.completed == 2)
        #expect(status?.lastScrapeAt == Self.t(1) && status?.scrapeError == nil)
        machine.recordScrape(.failure(.timedOut), for: Self.u, now: Self.t(2))
        status = machine.status(of: Self.u)
        #expect(status?.scrapeError == "tracker did not answer" && status?.lastScrapeAt == Self.t(1))
        #expect(status?.completed == 2 && status?.lastError == nil && status?.failures == 0)
        #expect(machine.nextAnnounceDue(now: Self.t(2)) == Self.t(1800))
    }
}
