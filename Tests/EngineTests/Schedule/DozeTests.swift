import Synchronization
import TestSupport
import Testing

@testable import Engine

/// The rest the scheduler's watching task takes: cut short by a poke (also one that came first), ended by
/// its time or by cancellation.
@Suite(.timeLimit(.minutes(1))) struct DozeTests {
    @Test func aPokeBeforeTheRestEndsItAtOnceAndIsUsedUp() async throws {
        let doze = Doze()
        doze.poke()
        await doze.rest(upTo: nil)  // would never return without the kept poke
        // Used up: this rest lasts until it is poked again, which the test does once it waits.
        let done = Mutex(false)
        let resting = Task {
            await doze.rest(upTo: nil)
            done.withLock { $0 = true }
        }
        #expect(try await poll(timeout: .seconds(10)) { doze.hasWaiter })
        #expect(!done.withLock { $0 })
        doze.poke()
        await resting.value
        #expect(done.withLock { $0 })
    }

    @Test func aRestEndsAfterItsTime() async {
        let doze = Doze()
        let clock = ContinuousClock()
        let elapsed = await clock.measure { await doze.rest(upTo: .milliseconds(20)) }
        #expect(elapsed >= .milliseconds(20))
        #expect(!doze.hasWaiter)
    }

    @Test func cancellingTheTaskEndsItsRest() async throws {
        let doze = Doze()
        let resting = Task { await doze.rest(upTo: nil) }
        #expect(try await poll(timeout: .seconds(10)) { doze.hasWaiter })
        resting.cancel()
        await resting.value
        #expect(!doze.hasWaiter)
        // Cancelled before it rests: it does not rest at all.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await doze.rest(upTo: nil)
        }
        await early.value
    }
}
