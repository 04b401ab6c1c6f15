import Testing

@testable import Engine

/// Keeps every tier in the order given (Swift's shuffle swaps nothing when every draw is 0).
struct ZeroGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { 0 }
}

@Suite(.timeLimit(.minutes(5))) struct AnnounceStateMachineTests {
    /// `seconds` after a fixed epoch.
    static func t(_ seconds: Int) -> Timestamp { Timestamp(rawValue: 1_700_000_000_000 + Int64(seconds) * 1000) }

    static func machine(_ tiers: [[String]] = [["a1", "a2"], ["b1"]]) -> AnnounceStateMachine {
        var generator = ZeroGenerator()
        return AnnounceStateMachine(tiers: TrackerTiers(tiers, using: &generator), key: 0xabcd)
    }

    static func ok(
        interval: Int = 1800, minInterval: Int? = nil, trackerId: String? = nil
    )
        -> Result<AnnounceResponse, TrackerError>
    {
        .success(
            AnnounceResponse(
                interval: interval, minInterval: minInterval, seeders: 4, leechers: 2, completed: 9,
                trackerId: trackerId))
    }

    static let down = Result<AnnounceResponse, TrackerError>.failure(.timedOut)

    /// Plans at `now`, expects exactly one job and records `result` for it.
    @discardableResult
    static func step(
        _ machine: inout AnnounceStateMachine, at now: Int, _ result: Result<AnnounceResponse, TrackerError>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> AnnounceJob? {
        let jobs = machine.plan(now: t(now))
        #expect(jobs.count == 1, sourceLocation: sourceLocation)
        guard let job = jobs.first else { return nil }
        #expect(machine.nextAnnounceDue(now: t(now)) == nil, "nothing is due while a job is out")
        #expect(machine.plan(now: t(now)).isEmpty, "one job at a time")
        machine.record(result, for: job, now: t(now))
        return job
    }

    /// Torrents started together drift apart: each waits the interval plus its own share (from its key) of
    /// the spread, never less than the interval and at most a tenth more.
    @Test func regularAnnouncesAreSpreadByKey() {
        var waits: Set<Int> = []
        for key: UInt32 in [0, 1, 999, 1_000, 0xabcd, 0xffff_ffff] {
            var generator = ZeroGenerator()
            let machine = AnnounceStateMachine(
                tiers: TrackerTiers([["a1"]], using: &generator), key: key, configuration: .spread)
            let wait = machine.spread(1800)
            #expect(wait >= 1800 && wait <= 1980, "key \(key)")
            waits.insert(wait)
        }
        #expect(waits.count >= 4, "different keys, different waits")
        #expect(Self.machine().spread(1800) == 1800, "no spread unless configured")
    }

    @Test func firstAnnounceIsStartedWithTheSessionKey() {
        var machine = Self.machine()
        #expect(machine.nextAnnounceDue(now: Self.t(0)) == Self.t(0))
        let job = Self.step(&machine, at: 0, Self.ok())
        #expect(job?.url == "a1" && job?.event == .started && job?.numWant == 200 && job?.key == 0xabcd)
        #expect(job?.tier == 0)
        #expect(machine.nextAnnounceDue(now: Self.t(1)) == Self.t(1800))
        #expect(machine.plan(now: Self.t(1799)).isEmpty)
        let next = Self.step(&machine, at: 1800, Self.ok())
        #expect(next?.url == "a1" && next?.event == AnnounceEvent.none && next?.key == 0xabcd)
    }

    /// Each row: the outcome of successive announces (true: answered); the URLs and events expected.
    @Test(arguments: [
        ([true], ["a1"], [AnnounceEvent.started]),
        ([false, true], ["a1", "a2"], [.started, .started]),
        ([false, false, true], ["a1", "a2", "b1"], [.started, .started, .started]),
        ([false, false, false], ["a1", "a2", "b1"], [.started, .started, .started]),
    ])
    func failsOverWithinTheTierThenToTheNext(_ outcomes: [Bool], _ urls: [String], _ events: [AnnounceEvent]) {
        var machine = Self.machine()
        var jobs: [AnnounceJob] = []
        for outcome in outcomes {
            if let job = Self.step(&machine, at: 0, outcome ? Self.ok() : Self.down) { jobs.append(job) }
        }
        #expect(jobs.map(\.url) == urls)
        #expect(jobs.map(\.event) == events)
        #expect(machine.plan(now: Self.t(0)).isEmpty)
    }

    @Test func answeringTrackerIsPromotedAndKeptWhileHigherTiersWinLater() {
        var machine = Self.machine()
        Self.step(&machine, at: 0, Self.down)  // a1
        Self.step(&machine, at: 0, Self.ok())  // a2, promoted
        #expect(machine.order == ["a2", "a1", "b1"])
        let regular = Self.step(&machine, at: 1800, Self.ok())
        #expect(regular?.url == "a2" && regular?.event == AnnounceEvent.none)

        // Failing over to the next tier leaves the first tier first for the next round.
        var other = Self.machine()
        Self.step(&other, at: 0, Self.down)  // a1
        Self.step(&other, at: 0, Self.down)  // a2
        Self.step(&other, at: 0, Self.ok())  // b1
        #expect(other.order == ["a1", "a2", "b1"])
        let retry = Self.step(&other, at: 1800, Self.ok())
        #expect(retry?.url == "a1" && retry?.event == .started)
    }

    @Test func everyTrackerDownWaitsForTheFirstBackOffToEnd() {
        var machine = Self.machine([["a1"], ["b1"]])
        Self.step(&machine, at: 0, Self.down)
        Self.step(&machine, at: 10, Self.down)
        #expect(machine.plan(now: Self.t(10)).isEmpty)
        #expect(machine.nextAnnounceDue(now: Self.t(10)) == Self.t(60))
        #expect(machine.plan(now: Self.t(59)).isEmpty)
        let again = Self.step(&machine, at: 60, Self.down)
        #expect(again?.url == "a1")
        #expect(machine.status(of: "a1")?.failures == 2)
        #expect(machine.status(of: "a1")?.nextAnnounceAt == Self.t(60 + 120))
        #expect(machine.nextAnnounceDue(now: Self.t(60)) == Self.t(70))  // b1 is back first
        #expect(Self.step(&machine, at: 70, Self.ok())?.url == "b1")
        #expect(machine.status(of: "b1")?.failures == 0)
    }

    @Test(arguments: [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (50, 3600)])
    func backOffDoublesUpToAnHour(_ failures: Int, _ seconds: Int) {
        #expect(AnnounceStateMachine.Configuration().retryDelay(failures: failures) == seconds)
    }

    @Test(arguments: [
        (1800, nil as Int?, 1800), (5, nil, 30), (10_000_000, nil, 6 * 3600), (600, 900, 900), (-1, nil, 30),
    ])
    func intervalIsClamped(_ interval: Int, _ minInterval: Int?, _ expected: Int) {
        var machine = Self.machine()
        Self.step(&machine, at: 0, Self.ok(interval: interval, minInterval: minInterval))
        #expect(machine.nextAnnounceDue(now: Self.t(0)) == Self.t(expected))
        #expect(machine.status(of: "a1")?.nextAnnounceAt == Self.t(expected))
    }

    @Test func completedIsSentAtOnceAndOnlyOnce() {
        var machine = Self.machine()
        Self.step(&machine, at: 0, Self.ok())
        machine.downloadCompleted(now: Self.t(100))
        #expect(machine.nextAnnounceDue(now: Self.t(100)) == Self.t(100))
        #expect(Self.step(&machine, at: 100, Self.ok())?.event == .completed)
        machine.downloadCompleted(now: Self.t(200))
        #expect(machine.plan(now: Self.t(200)).isEmpty)
        #expect(Self.step(&machine, at: 1900, Self.ok())?.event == AnnounceEvent.none)
    }

    @Test func completedMovesOnWhenItsTrackerFails() {
        var machine = Self.machine()
        Self.step(&machine, at: 0, Self.ok())  // a1 started
        machine.downloadCompleted(now: Self.t(100))
        let failed = Self.step(&machine, at: 100, Self.down)
        #expect(failed?.url == "a1" && failed?.event == .completed)
        // a2 never heard of us: it gets `started` (with nothing left), which reports the completion too.
        let next = Self.step(&machine, at: 100, Self.ok())
        #expect(next?.url == "a2" && next?.event == .started)
        #expect(Self.step(&machine, at: 1900, Self.ok())?.event == AnnounceEvent.none)
    }

    @Test func completionDuringAnAnnounceIsSentRightAfterIt() {
        var machine = Self.machine()
        let job = machine.plan(now: Self.t(0))[0]
        machine.downloadCompleted(now: Self.t(1))
        machine.record(Self.ok(), for: job, now: Self.t(2))
        #expect(machine.nextAnnounceDue(now: Self.t(2)) == Self.t(2))
        #expect(Self.step(&machine, at: 2, Self.ok())?.event == .completed)
    }

    @Test func stoppedGoesToEveryTrackerThatKnowsUs() {
        var machine = Self.machine([["a1", "a2"], ["b1"]])
        Self.step(&machine, at: 0, Self.ok())  // a1 started
        Self.step(&machine, at: 1800, Self.down)  // a1
        Self.step(&machine, at: 1800, Self.down)  // a2 started, failed: does not know us
        Self.step(&machine, at: 1800, Self.ok(trackerId: "T2"))  // b1 started
        let jobs = machine.stop(now: Self.t(2000))
        #expect(jobs.map(\.url) == ["a1", "b1"])
        #expect(jobs.allSatisfy { $0.event == .stopped && $0.numWant == 0 && $0.key == 0xabcd })
        #expect(jobs.last?.trackerId == "T2")
        #expect(machine.isStopped)
        #expect(machine.plan(now: Self.t(9999)).isEmpty)
        #expect(machine.nextAnnounceDue(now: Self.t(2000)) == nil)
        #expect(machine.stop(now: Self.t(2001)).isEmpty)
        for job in jobs { machine.record(Self.ok(), for: job, now: Self.t(2001)) }
        #expect(machine.statuses.allSatisfy { $0.nextAnnounceAt == nil })
    }

    @Test func stopWhileTheFirstStartedIsOutStillSendsStopped() {
        var machine = Self.machine()
        let started = machine.plan(now: Self.t(0))[0]
        let jobs = machine.stop(now: Self.t(1))
        #expect(jobs.map(\.url) == ["a1"])
        machine.record(Self.ok(), for: started, now: Self.t(2))
        #expect(machine.plan(now: Self.t(5000)).isEmpty)
        var fresh = Self.machine()
        #expect(fresh.stop(now: Self.t(0)).isEmpty, "no tracker knows us yet")
    }

    @Test func trackerIdIsEchoedToItsTrackerOnly() {
        var machine = Self.machine()
        Self.step(&machine, at: 0, Self.ok(trackerId: "T1"))
        #expect(Self.step(&machine, at: 1800, Self.ok())?.trackerId == "T1")
        #expect(Self.step(&machine, at: 3600, Self.down)?.trackerId == "T1")
        #expect(Self.step(&machine, at: 3600, Self.ok())?.trackerId == nil)  // a2
    }

    @Test func staleAndUnknownResultsAreIgnored() {
        var machine = Self.machine()
        let job = machine.plan(now: Self.t(0))[0]
        machine.record(Self.down, for: job, now: Self.t(1))
        machine.record(Self.ok(), for: job, now: Self.t(2))  // a second result for the same job
        #expect(machine.status(of: "a1")?.failures == 1)
        let next = machine.plan(now: Self.t(2))[0]
        #expect(next.url == "a2")
        machine.abandon(next)
        #expect(machine.status(of: "a2")?.failures == 0)
        #expect(machine.plan(now: Self.t(3)).first?.url == "a2")
    }

    @Test func reannounceWaitsForMinInterval() {
        var machine = Self.machine()
        Self.step(&machine, at: 0, Self.ok(interval: 1800, minInterval: 300))
        machine.reannounce(now: Self.t(10))
        #expect(machine.nextAnnounceDue(now: Self.t(10)) == Self.t(300))
        machine.reannounce(now: Self.t(400))
        #expect(machine.nextAnnounceDue(now: Self.t(400)) == Self.t(400))
    }

    @Test func statusesFeedTheStore() {
        var machine = Self.machine()
        Self.step(&machine, at: 0, .failure(.failure("unregistered torrent")))
        Self.step(&machine, at: 0, Self.ok(trackerId: "X"))
        let statuses = machine.statuses
        #expect(statuses.map(\.url) == ["a2", "a1", "b1"])
        #expect(statuses.map(\.tier) == [0, 0, 1])
        let a1 = statuses[1]
        #expect(a1.lastError == "tracker refused: unregistered torrent" && a1.failures == 1)
        #expect(a1.nextAnnounceAt == Self.t(60) && a1.lastAnnounceAt == Self.t(0) && a1.lastSuccessAt == nil)
        let update = TrackerUpdate(statuses[0], torrentId: 7)
        #expect(
            update
                == TrackerUpdate(
                    torrentId: 7, url: "a2", lastAnnounceAt: Self.t(0), nextAnnounceAt: Self.t(1800), seeders: 4,
                    leechers: 2, completed: 9, lastError: nil, trackerId: "X"))
        #expect(statuses[2] == TrackerStatus(url: "b1", tier: 1))
    }

    @Test func noTrackersNeverAnnounce() {
        var machine = Self.machine([])
        #expect(machine.plan(now: Self.t(0)).isEmpty)
        #expect(machine.nextAnnounceDue(now: Self.t(0)) == nil)
    }
}
