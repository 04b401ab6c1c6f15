import TestSupport
import Testing

@testable import Engine

/// The state of a session's check at start: what it found, and callers held until the session lets
/// them go (or let go at once once the check is done).
@Suite(.timeLimit(.minutes(1)))
struct StartCheckTests {
    /// Holds a ``StartCheck`` on an actor, as ``TorrentSession`` does.
    actor Holder {
        var check = StartCheck()

        func wait() async { await withCheckedContinuation { check.wait($0) } }
        func finished(missingPieces: Bool, bytesRead: Int64) {
            check.finished(missingPieces: missingPieces, bytesRead: bytesRead)
        }
        func releaseWaiters() { check.releaseWaiters() }
        var waiting: Int { check.waiting }
    }

    @Test func recordsWhatTheCheckFound() {
        var check = StartCheck()
        #expect(!check.isDone && !check.foundMissingPieces && check.bytesRead == 0)
        check.finished(missingPieces: true, bytesRead: 3 * 32_768)
        #expect(check.isDone && check.foundMissingPieces && check.bytesRead == 98_304)
    }

    @Test func callersWaitUntilReleased() async throws {
        let holder = Holder()
        let first = Task { await holder.wait() }
        let second = Task { await holder.wait() }
        #expect(try await poll(timeout: .seconds(10)) { await holder.waiting == 2 })
        // Finishing the check alone does not let them go: the session releases them once it works.
        await holder.finished(missingPieces: false, bytesRead: 0)
        #expect(await holder.waiting == 2)
        await holder.releaseWaiters()
        await first.value
        await second.value
        #expect(await holder.waiting == 0)
    }

    @Test func aCallerAfterTheCheckDoesNotWait() async {
        let holder = Holder()
        await holder.finished(missingPieces: false, bytesRead: 0)
        // Returns without a release.
        await holder.wait()
        #expect(await holder.waiting == 0)
    }

    @Test func releasingBeforeTheCheckLetsWaitersGo() async throws {
        // A run that fails before its check ends lets its waiters go too.
        let holder = Holder()
        let waiter = Task { await holder.wait() }
        #expect(try await poll(timeout: .seconds(10)) { await holder.waiting == 1 })
        await holder.releaseWaiters()
        await waiter.value
        #expect(await holder.waiting == 0)
    }
}

/// Where a session started ahead of its slot waits after its check: every waiter hears the first
/// decision, and one who asks after it hears it at once.
@Suite(.timeLimit(.minutes(1)))
struct StartHoldTests {
    actor Holder {
        var hold = StartHold()
        func wait() async -> StartHold.Decision { await withCheckedContinuation { hold.wait($0) } }
        func decide(_ decision: StartHold.Decision) { hold.decide(decision) }
        var waiting: Int { hold.waiting }
    }

    @Test func waitersHearTheFirstDecision() async throws {
        let holder = Holder()
        let first = Task { await holder.wait() }
        let second = Task { await holder.wait() }
        #expect(try await poll(timeout: .seconds(10)) { await holder.waiting == 2 })
        await holder.decide(.stop)
        await holder.decide(.goOn)
        let heard = (await first.value, await second.value)
        #expect(heard.0 == .stop && heard.1 == .stop)
        #expect(await holder.wait() == .stop, "a later caller hears the decision at once")
        #expect(await holder.waiting == 0)
    }
}
