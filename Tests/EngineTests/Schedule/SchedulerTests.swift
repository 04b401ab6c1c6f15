import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// The process-wide scheduler: jobs run earliest first, at most a bounded number per wake; a cancelled
/// job never runs; a poke ends a rest (also one that follows the run it came during) but never brings a
/// regular deadline forward; inline jobs run where the scheduler is stepped. Most tests step the scheduler
/// themselves (`drives: false`); the last ones let its event loop watch the deadlines.
@Suite(.timeLimit(.minutes(1))) struct SchedulerTests {
    /// Runs of jobs, reported by the jobs themselves as they run.
    final class Runs: Sendable {
        let stream: AsyncStream<String>
        let continuation: AsyncStream<String>.Continuation

        init() { (stream, continuation) = AsyncStream.makeStream() }

        func action(_ name: String, then next: Scheduler.Next = .done) -> Scheduler.Action {
            { [continuation] in
                continuation.yield(name)
                return next
            }
        }

        /// The next `count` runs, in the order they happened.
        func next(_ count: Int) async -> [String] {
            var names: [String] = []
            for await name in stream {
                names.append(name)
                if names.count == count { break }
            }
            return names
        }
    }

    @Test func dueJobsRunEarliestFirst() async {
        let scheduler = Scheduler(limitPerWake: 1, drives: false)
        let runs = Runs()
        let now = ContinuousClock.now
        _ = scheduler.add(at: now - .seconds(1), runs.action("c"))
        _ = scheduler.add(at: now - .seconds(3), runs.action("a"))
        _ = scheduler.add(at: now + .seconds(3600), runs.action("later"))
        _ = scheduler.add(at: now - .seconds(2), runs.action("b"))
        var order: [String] = []
        for _ in 0..<3 {
            #expect(scheduler.runDue(now: now) == 1)
            order += await runs.next(1)
        }
        #expect(order == ["a", "b", "c"])
        #expect(scheduler.runDue(now: now) == 0)
    }

    @Test func eachWakeStartsAtMostItsLimit() async throws {
        let scheduler = Scheduler(limitPerWake: 64, drives: false)
        let runs = Runs()
        let now = ContinuousClock.now
        for job in 0..<1_000 { _ = scheduler.add(at: now - .milliseconds(job), runs.action("\(job)")) }
        var started = 0
        var wakes = 0
        while true {
            let count = scheduler.runDue(now: now)
            #expect(count <= 64)
            if count == 0 { break }
            started += count
            wakes += 1
        }
        #expect(started == 1_000 && wakes == 16)
        #expect(Set(await runs.next(1_000)).count == 1_000)
        #expect(try await poll(timeout: .seconds(20)) { scheduler.jobCount == 0 })
    }

    @Test func aCancelledJobNeverRuns() async throws {
        let scheduler = Scheduler(drives: false)
        let runs = Runs()
        let now = ContinuousClock.now
        let cancelled = scheduler.add(at: now - .seconds(1), runs.action("cancelled"))
        _ = scheduler.add(at: now - .seconds(1), runs.action("kept"))
        cancelled.cancel()
        #expect(scheduler.runDue(now: now) == 1)
        #expect(await runs.next(1) == ["kept"])
        cancelled.poke()
        #expect(scheduler.runDue(now: .now) == 0)
        #expect(try await poll(timeout: .seconds(20)) { scheduler.jobCount == 0 })
    }

    @Test func aPokeEndsARestButNotARegularWait() async throws {
        let scheduler = Scheduler(drives: false)
        let runs = Runs()
        let resting = scheduler.add(at: nil, runs.action("resting", then: .rest(until: nil)))
        let waiting = scheduler.add(at: .now + .seconds(3600), runs.action("waiting"))
        #expect(resting.isResting && !waiting.isResting)
        #expect(scheduler.runDue(now: .now) == 0)
        waiting.poke()
        #expect(scheduler.runDue(now: .now) == 0)
        resting.poke()
        #expect(scheduler.runDue(now: .now) == 1)
        #expect(await runs.next(1) == ["resting"])
        // It rests again after its run, and only a new poke wakes it.
        #expect(try await poll(timeout: .seconds(20)) { resting.isResting })
        #expect(scheduler.runDue(now: .now) == 0)
        resting.poke()
        #expect(scheduler.runDue(now: .now) == 1)
        #expect(await runs.next(1) == ["resting"])
    }

    /// A poke that comes while the job runs is kept: the rest its run then asks for ends at once.
    @Test func aPokeDuringARunEndsTheNextRest() async throws {
        let scheduler = Scheduler(drives: false)
        let runs = Runs()
        let box = Mutex<ScheduledJob?>(nil)
        let job = scheduler.add(at: .now) { [continuation = runs.continuation] in
            box.withLock { $0 }?.poke()
            continuation.yield("run")
            return .rest(until: nil)
        }
        box.withLock { $0 = job }
        #expect(scheduler.runDue(now: .now) == 1)
        #expect(await runs.next(1) == ["run"])
        #expect(try await poll(timeout: .seconds(20)) { scheduler.runDue(now: .now) == 1 })
        #expect(await runs.next(1) == ["run"])
        job.cancel()
    }

    /// A job cancelled during a run never runs again, and ending it waits for that run.
    @Test func endingAJobWaitsForTheRunOnItsWay() async {
        let scheduler = Scheduler(drives: false)
        let runs = Runs()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let log = Mutex<[String]>([])
        let job = scheduler.add(at: .now) { [continuation = runs.continuation] in
            continuation.yield("started")
            for await _ in gate { break }
            log.withLock { $0.append("run ended") }
            return .at(.now)
        }
        #expect(scheduler.runDue(now: .now) == 1)
        #expect(await runs.next(1) == ["started"])
        job.cancel()
        let ending = Task {
            await job.end()
            log.withLock { $0.append("end returned") }
        }
        open.yield()
        await ending.value
        #expect(log.withLock { $0 } == ["run ended", "end returned"])
        #expect(scheduler.jobCount == 0 && scheduler.runDue(now: .now + .seconds(1)) == 0)
    }

    /// An inline job runs before `runDue` returns, on the caller's thread, and a poke from inside it
    /// wakes another job for the next step.
    @Test func anInlineJobRunsWhereTheSchedulerIsStepped() async {
        let scheduler = Scheduler(drives: false)
        let runs = Runs()
        let log = Mutex<[String]>([])
        let woken = scheduler.add(at: nil, runs.action("woken", then: .rest(until: nil)))
        _ = scheduler.add(
            at: .now,
            inline: {
                log.withLock { $0.append("inline") }
                woken.poke()
                return .done
            })
        #expect(scheduler.runDue(now: .now) == 1)
        #expect(log.withLock { $0 } == ["inline"])
        #expect(scheduler.runDue(now: .now) == 1)
        #expect(await runs.next(1) == ["woken"])
        woken.cancel()
    }

    @Test func theLoopRunsJobsWhenDueAndWhenPoked() async {
        let scheduler = Scheduler()
        let runs = Runs()
        let resting = scheduler.add(at: nil, runs.action("poked", then: .rest(until: nil)))
        let regular = Mutex(0)
        let ticking = scheduler.add(at: .now + .milliseconds(10)) { [continuation = runs.continuation] in
            let count = regular.withLock { count in
                count += 1
                return count
            }
            continuation.yield("tick \(count)")
            return count < 3 ? .at(.now + .milliseconds(10)) : .done
        }
        #expect(await runs.next(3) == ["tick 1", "tick 2", "tick 3"])
        resting.poke()
        #expect(await runs.next(1) == ["poked"])
        resting.cancel()
        ticking.cancel()
    }

    /// A deadline set after a later one runs first: the loop's timer is set again for it, not left at the
    /// later instant (30 s away, far past any stall of a loaded machine), which stays held. Inline jobs run
    /// on the loop.
    @Test func anEarlierDeadlineSetLaterRunsFirst() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let scheduler = Scheduler(loop: loop)
        let runs = Runs()
        let start = ContinuousClock.now
        let later = scheduler.add(at: start + .seconds(30), runs.action("later"))
        _ = scheduler.add(
            at: start + .milliseconds(50),
            inline: { [continuation = runs.continuation] in
                continuation.yield(loop.inEventLoop ? "earlier, on the loop" : "earlier, elsewhere")
                return .done
            })
        #expect(await runs.next(1) == ["earlier, on the loop"])
        #expect(ContinuousClock.now - start < .seconds(30))
        // The earlier job is removed once its run has returned `.done`, just after it said it ran.
        #expect(try await poll(timeout: .seconds(20)) { scheduler.jobCount == 1 })
        later.cancel()
        #expect(scheduler.jobCount == 0)
    }

    /// More jobs due at once than a turn starts: the loop takes further turns until all ran.
    @Test func theLoopStartsADueStormInTurns() async throws {
        let scheduler = Scheduler(limitPerWake: 16)
        let runs = Runs()
        let now = ContinuousClock.now
        for job in 0..<200 { _ = scheduler.add(at: now - .milliseconds(job), runs.action("\(job)")) }
        #expect(Set(await runs.next(200)).count == 200)
        #expect(try await poll(timeout: .seconds(20)) { scheduler.jobCount == 0 })
    }
}
