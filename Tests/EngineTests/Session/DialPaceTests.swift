import Synchronization
import Testing

@testable import Engine

/// The process-wide pace of connection attempts: a bucket of one second's attempts, turns handed round the
/// sessions that wait, first come first served, and a run's first attempts at once.
@Suite(.timeLimit(.minutes(2))) struct DialPaceTests {
    /// A clock the test moves, an hour ahead of the real one: a job the scheduler has due now (a poke
    /// schedules it at the real clock's now) is due at this clock's now.
    final class ManualClock: Sendable {
        private let instant = Mutex(ContinuousClock.now + .seconds(3600))
        var now: ContinuousClock.Instant { instant.withLock { $0 } }
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
    }

    /// Stand-ins for sessions: the pace tells members apart by object identity.
    final class Member: Sendable {
        var id: ObjectIdentifier { ObjectIdentifier(self) }
    }

    let start = ContinuousClock.now
    let a = Member()
    let b = Member()
    let c = Member()

    /// The `dials_per_second` setting: libtorrent's 30 unless set, 0 for no pace.
    @Test func theSettingMakesThePace() {
        #expect(TransferSettings().dialPace()?.perSecond == 30)
        #expect(TransferSettings(values: [TransferSettings.dialsPerSecondKey: "12"]).dialPace()?.perSecond == 12)
        #expect(TransferSettings(values: [TransferSettings.dialsPerSecondKey: "0"]).dialPace() == nil)
        #expect(TransferSettings(values: [TransferSettings.dialsPerSecondKey: "-3"]).dialPace() == nil)
        #expect(TransferSettings(values: [TransferSettings.dialsPerSecondKey: "x"]).dialPace()?.perSecond == 30)
    }

    /// `peer_retry_delay` and `peer_max_failures`: libtorrent's 60 s and 3 unless set, within bounds.
    @Test func theBackOffSettingsReachTheSessions() {
        func applied(_ values: [String: String]) -> (Duration, Int) {
            var configuration = SessionConfiguration()
            TransferSettings(values: values).applyDialling(to: &configuration)
            return (configuration.failedReconnectDelay, configuration.maxConnectAttempts)
        }
        #expect(applied([:]) == (.seconds(60), 3))
        let delay = TransferSettings.peerRetryDelayKey
        let failures = TransferSettings.peerMaxFailuresKey
        #expect(applied([delay: "2m", failures: "5"]) == (.seconds(120), 5))
        #expect(applied([delay: "0", failures: "0"]) == (.seconds(1), 1))
        #expect(applied([delay: "30d", failures: "100000"]) == (.seconds(86_400), 100))
        #expect(applied([delay: "soon", failures: "x"]) == (.seconds(60), 3))
        // The limits of a session's table follow them.
        var configuration = SessionConfiguration()
        TransferSettings(values: [delay: "10", failures: "4"]).applyDialling(to: &configuration)
        let table = PeerCandidateTable(limits: .init(configuration))
        #expect(table.limits.maxFailures == 4)
        #expect(table.backOff(failures: 1) == .seconds(20) && table.backOff(failures: 3) == .seconds(40))
        #expect(table.backOff(failures: 0) == configuration.reconnectDelay)
    }

    @Test func aFullBucketGivesOneSecondsAttemptsThenRefillsWithTime() {
        var pace = DialPaceState(perSecond: 10, now: start)
        #expect(pace.take(4, for: a.id, now: start) == 4)
        #expect(pace.take(100, for: b.id, now: start) == 6)
        #expect(pace.take(1, for: a.id, now: start) == 0)
        // A tenth of a second brings one back, a whole second all ten, and never more than ten.
        #expect(pace.take(5, for: a.id, now: start + .milliseconds(100)) == 1)
        #expect(pace.take(50, for: a.id, now: start + .seconds(60)) == 10)
        #expect(pace.take(0, for: a.id, now: start + .seconds(120)) == 0)
        #expect(pace.take(50, for: a.id, now: start + .seconds(120)) == 10)
    }

    @Test func waitingSessionsGetTheirTurnsFirstComeFirstServed() {
        var pace = DialPaceState(perSecond: 2, now: start)
        #expect(pace.take(5, for: a.id, now: start) == 2)
        #expect(pace.wait(a.id) {})
        #expect(!pace.wait(a.id) {}, "a session waiting keeps its place")
        #expect(pace.wait(b.id) {})
        // Nobody jumps the queue: tokens that come back go to those waiting.
        #expect(pace.take(1, for: c.id, now: start + .seconds(1)) == 0)
        let first = pace.handOut(now: start + .milliseconds(500))
        #expect(first.wakes.count == 1 && pace.granted == [a.id: 1])
        #expect(pace.isWaiting(b.id) && !pace.isWaiting(a.id))
        #expect(first.next == start + .seconds(1), "the next token, half a second later")
        // The woken session takes its grant (it waits no more, so its own take may use it).
        #expect(pace.take(3, for: a.id, now: start + .milliseconds(500)) == 1)
        #expect(pace.wait(a.id) {})
        let second = pace.handOut(now: start + .seconds(2))
        #expect(second.wakes.count == 2, "two tokens: b first, then a again")
        #expect(pace.granted == [a.id: 1, b.id: 1])
        #expect(second.next == nil && pace.waitingCount == 0)
    }

    @Test func leavingGivesBackAPlaceAndAGrant() {
        var pace = DialPaceState(perSecond: 1, now: start)
        #expect(pace.take(1, for: a.id, now: start) == 1)
        pace.wait(a.id) {}
        pace.wait(b.id) {}
        pace.leave(a.id, now: start)
        #expect(pace.waitingCount == 1 && !pace.isWaiting(a.id))
        _ = pace.handOut(now: start + .seconds(1))
        #expect(pace.granted == [b.id: 1])
        pace.leave(b.id, now: start + .seconds(1))
        #expect(pace.granted.isEmpty && pace.tokens == 1, "the grant not taken went back to the bucket")
        #expect(pace.take(1, for: c.id, now: start + .seconds(1)) == 1)
    }

    /// A table of `fresh` addresses never failed and `failing` that failed once, all due.
    func table(fresh: Int, failing: Int = 0, from start: Int = 0) -> PeerCandidateTable {
        var table = PeerCandidateTable(limits: PeerCandidateTableTests.limits(failures: 10))
        let all = PeerCandidateTableTests.addresses(fresh + failing, from: start)
        table.add(all, source: .tracker, notBefore: self.start)
        for address in all[fresh...] { table.failed(address) }
        return table
    }

    /// The run's first attempts to new addresses go at once; past them the pace decides, and a dialler
    /// held back waits, its addresses due again as they were.
    @Test func aBoostGoesFirstThenThePace() {
        let clock = ManualClock()
        let pace = DialPace(perSecond: 2, scheduler: Scheduler(drives: false), clock: { clock.now })
        var candidates = table(fresh: 8)
        var turns = DialTurns(pace: pace, member: a, boost: 3) {}
        let first = turns.admit(candidates.takeDue(now: start, room: 4), from: &candidates)
        #expect(first.count == 4 && turns.boost == 0, "three of the boost and one of the bucket's two")
        #expect(!turns.isWaiting && turns.mayDial)
        let second = turns.admit(candidates.takeDue(now: start, room: 4), from: &candidates)
        #expect(second.count == 1 && turns.isWaiting && !turns.mayDial)
        #expect(candidates.connectingCount == 5, "the three held back are due again, not being connected")
        var others = table(fresh: 2, from: 100)
        var late = DialTurns(pace: pace, member: b, boost: 0) {}
        #expect(late.admit(others.takeDue(now: start, room: 2), from: &others).isEmpty, "b waits behind a")
        #expect(late.isWaiting && others.connectingCount == 0)
        late.leave()
        #expect(!late.isWaiting)
    }

    /// Retries spend no boost: a torrent whose tracker lists gone peers dials them again at the pace.
    @Test func retriesWaitForThePaceWhateverTheBoost() {
        let clock = ManualClock()
        let pace = DialPace(perSecond: 2, scheduler: Scheduler(drives: false), clock: { clock.now })
        var failing = table(fresh: 0, failing: 5)
        var turns = DialTurns(pace: pace, member: a, boost: 30) {}
        let retries = turns.admit(failing.takeDue(now: start, room: 5), from: &failing)
        #expect(retries.count == 2 && turns.boost == 30 && turns.isWaiting)
        var mixed = table(fresh: 2, failing: 3, from: 100)
        var other = DialTurns(pace: pace, member: b, boost: 30) {}
        let dialled = mixed.takeDue(now: start, room: 5)
        #expect(
            other.admit(dialled, from: &mixed) == Array(dialled.prefix(2)) && other.boost == 28,
            "the two new addresses go on the boost, the three retries wait")
    }

    /// The hand-outs run as a scheduler job: a session waiting is woken once a token came back, and its
    /// take then gets the attempt.
    @Test func aWaitingSessionIsWokenWhenATokenComesBack() async throws {
        let clock = ManualClock()
        let scheduler = Scheduler(drives: false)
        let pace = DialPace(perSecond: 4, scheduler: scheduler, clock: { clock.now })
        #expect(pace.take(10, for: a.id) == 4)
        let (woken, wake) = AsyncStream.makeStream(of: Void.self)
        pace.wait(a.id) { wake.yield() }
        // The job runs (poked by the wait) with no token back yet: nobody is woken, and it rests until
        // the next token.
        #expect(scheduler.runDue(now: clock.now) == 1)
        try await SessionExtensionTests.waitUntil("the empty hand-out rests") {
            scheduler.runDue(now: clock.now) == 0 && pace.isWaiting(a.id)
        }
        clock.advance(.milliseconds(250))
        try await SessionExtensionTests.waitUntil("the hand-out with a token") {
            scheduler.runDue(now: clock.now) > 0 || !pace.isWaiting(a.id)
        }
        var iterator = woken.makeAsyncIterator()
        _ = await iterator.next()
        #expect(!pace.isWaiting(a.id))
        #expect(pace.take(10, for: a.id) == 1)
        wake.finish()
    }

    /// A session whose addresses are more than its boost dials the boost at once and then one address
    /// per turn the pace gives it.
    @Test func aSessionDialsItsBoostAtOnceAndTheRestInTurn() async throws {
        let clock = ManualClock()
        let scheduler = Scheduler(drives: false)
        let pace = DialPace(perSecond: 1, scheduler: scheduler, clock: { clock.now })
        // The bucket's one token goes elsewhere: the session has its boost only.
        #expect(pace.take(1, for: a.id) == 1)
        var servers: [OutgoingHandshakeTests.SilentServer] = []
        for _ in 0..<5 { servers.append(try await OutgoingHandshakeTests.SilentServer()) }
        var configuration = TorrentSessionTests.quickConfiguration()
        configuration.dialPace = pace
        configuration.dialBoost = 2
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 73)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: configuration)
        let run = Task { await session.run() }
        await session.addPeers(servers.map(\.address), source: .tracker)
        let accepted = { servers.reduce(0) { $0 + $1.accepted } }
        try await SessionExtensionTests.waitUntil("the boost dialled") { accepted() == 2 }
        try await SessionExtensionTests.waitUntil("the session waits its turn") {
            pace.isWaiting(ObjectIdentifier(session))
        }
        let tried = { await session.core.swarm.candidates.values.count { $0.isConnecting || $0.isConnected } }
        #expect(await tried() == 2, "the other three wait, not dialled")
        for turn in 3...5 {
            clock.advance(.seconds(1))
            try await SessionExtensionTests.waitUntil("turn \(turn)") {
                scheduler.runDue(now: clock.now)
                return accepted() == turn
            }
            #expect(await tried() == turn)
        }
        #expect(accepted() == 5)
        await session.stop()
        _ = await run.value
        #expect(!pace.isWaiting(ObjectIdentifier(session)), "a run that ended waits no more")
        for server in servers { await server.close() }
    }
}
