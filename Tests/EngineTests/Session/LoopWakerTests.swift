import Synchronization
import Testing

@testable import Engine

/// Early wakes of a session's loop: one step queued at a time, only while a loop runs.
@Suite struct LoopWakerTests {
    /// Counts the steps a waker queues.
    final class Steps: Sendable {
        private let count = Mutex(0)
        var queued: Int { count.withLock { $0 } }
        func queue() { count.withLock { $0 += 1 } }
    }

    @Test func wakesBeforeTheStepRunsAreOne() {
        var waker = LoopWaker()
        let steps = Steps()
        waker.start { steps.queue() }
        #expect(waker.isRunning)
        waker.wake()
        waker.wake()
        #expect(steps.queued == 1)
        // A tick taken leaves the early step queued.
        waker.took(.tick)
        waker.wake()
        #expect(steps.queued == 1)
        // The step ran: the next wake queues another.
        waker.took(.event)
        waker.wake()
        waker.wake()
        #expect(steps.queued == 2)
    }

    @Test func noLoopNoStep() {
        var waker = LoopWaker()
        let steps = Steps()
        waker.wake()
        #expect(!waker.isRunning)
        waker.start { steps.queue() }
        waker.end()
        #expect(!waker.isRunning)
        waker.wake()
        #expect(steps.queued == 0)
    }

    @Test func aNewLoopForgetsTheQueuedStep() {
        var waker = LoopWaker()
        let steps = Steps()
        waker.start { steps.queue() }
        waker.wake()
        waker.end()
        waker.start { steps.queue() }
        waker.wake()
        #expect(steps.queued == 2)
    }

    @Test func ticksCloserThanHalfAnIntervalAreOne() {
        var waker = LoopWaker()
        waker.start {}
        let start = ContinuousClock.now
        let interval = Duration.seconds(1)
        let taken = [
            waker.took(.event, now: start + .seconds(5), interval: interval),
            waker.took(.tick, now: start + .seconds(5), interval: interval),
            waker.took(.tick, now: start + .milliseconds(5_400), interval: interval),
            waker.took(.tick, now: start + .milliseconds(5_500), interval: interval),
        ]
        #expect(taken == [false, true, false, true])
        // Another interval, another half: 1.5 s.
        let longer = Duration.seconds(3)
        let early = waker.took(.tick, now: start + .milliseconds(6_900), interval: longer)
        let due = waker.took(.tick, now: start + .milliseconds(7_000), interval: longer)
        #expect(!early && due)
    }
}
