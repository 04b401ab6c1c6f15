import NIOCore
import NIOPosix
import Synchronization

/// One process-wide clock for the periodic work of every torrent: a session's ticks, its journal's looks
/// and its trackers' announces and scrapes are jobs here, each with a deadline in one heap
/// (``DeadlineQueue``). A job runs when its deadline comes, or when poked while it rests, and says when
/// it is next due; between two runs it holds no task and no task frame, so a daemon seeding thousands of
/// idle torrents keeps a heap entry per job instead of a sleeping task per loop.
///
/// The deadlines are watched by one event loop, with no task of their own: a timer of the loop is set for
/// the earliest, and the loop starts the due jobs itself, each in a short task (an ``InlineAction``, work
/// that never suspends, runs right there on the loop, in no task). A job due at once (a poke) is started
/// by the loop's next turn. A watching task that slept on a timer cost a wake of the loop to set the
/// timer, another to cancel it, and a wake of a pool thread to resume the task, at every rest and poke:
/// a daemon dialling gone peers at its pace switched threads 15 times per attempt, most of them here.
///
/// A job runs one at a time: a poke during a run is kept for the rest that follows it. Each turn of the
/// loop starts at most ``limitPerWake`` jobs, so a storm of deadlines (every torrent starting at once)
/// never holds the loop or the cooperative pool for long.
package final class Scheduler: Sendable {
    /// What a job asks for after a run.
    package enum Next: Sendable, Equatable {
        /// Run again at this instant; a poke does not bring it forward (a regular interval).
        case at(ContinuousClock.Instant)
        /// Rest until this instant (until poked, when `nil`); a poke ends the rest at once.
        case rest(until: ContinuousClock.Instant?)
        /// Never run again (the job is removed).
        case done
    }

    /// The job's work: runs when due, and says when it is next due.
    package typealias Action = @Sendable () async -> Next
    /// Work that returns at once, never waiting for anything: it runs on the scheduler's event loop (on
    /// the caller of ``runDue(now:)`` when the scheduler does not drive itself), in no task.
    package typealias InlineAction = @Sendable () -> Next

    private enum Work {
        case task(Action)
        case inline(InlineAction)
    }

    private enum Phase {
        /// Waits for a regular deadline.
        case waiting
        /// Rests until its deadline, if any, or a poke.
        case resting
        /// Its action runs.
        case running
    }

    private struct Job {
        let work: Work
        var phase: Phase
        /// A poke came while it was not resting: its next rest ends at once.
        var pokedMeanwhile = false
    }

    private struct State {
        var queue = DeadlineQueue()
        var jobs: [Int: Job] = [:]
        /// Jobs cancelled during a run, with who waits for that run to end.
        var ending: [Int: [CheckedContinuation<Void, Never>]] = [:]
        var nextId = 0
        /// The earliest instant a timer of the loop is set for (`nil`: none).
        var armed: ContinuousClock.Instant?
        /// A turn of the loop that starts the due jobs is queued.
        var turnQueued = false
    }

    /// The scheduler the sessions of this process share.
    package static let shared = Scheduler()

    /// How many jobs one turn of the loop starts at most.
    package let limitPerWake: Int
    /// The loop that watches the deadlines; `nil` when whoever made the scheduler steps it.
    private let loop: (any EventLoop)?
    private let state = Mutex(State())

    /// A scheduler that starts at most `limitPerWake` jobs per turn of `loop` (one of NIO's shared
    /// loops when `nil`). Without `drives` nothing watches the deadlines: whoever made it calls
    /// ``runDue(now:)`` (tests do, to step time themselves).
    package init(limitPerWake: Int = 256, drives: Bool = true, loop: (any EventLoop)? = nil) {
        precondition(limitPerWake > 0)
        self.limitPerWake = limitPerWake
        self.loop = drives ? (loop ?? MultiThreadedEventLoopGroup.singleton.any()) : nil
    }

    /// Jobs held (running, waiting or resting).
    package var jobCount: Int { state.withLock { $0.jobs.count } }

    /// Adds a job whose first run is at `first` (regular), or that rests until poked when `first` is `nil`.
    package func add(at first: ContinuousClock.Instant?, _ action: @escaping Action) -> ScheduledJob {
        add(at: first, work: .task(action))
    }

    /// Adds a job whose work returns at once (see ``InlineAction``), first run as for ``add(at:_:)``.
    package func add(at first: ContinuousClock.Instant?, inline action: @escaping InlineAction) -> ScheduledJob {
        add(at: first, work: .inline(action))
    }

    private func add(at first: ContinuousClock.Instant?, work: Work) -> ScheduledJob {
        let id = state.withLock { state -> Int in
            let id = state.nextId
            state.nextId += 1
            state.jobs[id] = Job(work: work, phase: first == nil ? .resting : .waiting)
            if let first { state.queue.schedule(id, at: first) }
            return id
        }
        if let first { deadlineSet(first) }
        return ScheduledJob(id: id, scheduler: self)
    }
    /// Ends job `id`'s rest at once; a job not resting keeps the poke for its next rest.
    func poke(_ id: Int) {
        let now = ContinuousClock.now
        let woke = state.withLock { state -> Bool in
            guard var job = state.jobs[id] else { return false }
            defer { state.jobs[id] = job }
            guard job.phase == .resting else {
                job.pokedMeanwhile = true
                return false
            }
            if let deadline = state.queue.deadline(of: id), deadline <= now { return false }
            state.queue.schedule(id, at: now)
            return true
        }
        if woke { deadlineSet(now) }
    }

    /// Removes job `id`: it never runs again (a run on its way finishes, see ``ended(_:)``).
    func cancel(_ id: Int) {
        state.withLock { state in
            if state.jobs.removeValue(forKey: id)?.phase == .running, state.ending[id] == nil { state.ending[id] = [] }
            state.queue.cancel(id)
        }
    }

    /// Returns once no run of cancelled job `id` is on its way.
    func ended(_ id: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.ending[id] != nil else { return true }
                state.ending[id]?.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Whether job `id` rests (until a deadline or a poke).
    func isResting(_ id: Int) -> Bool {
        state.withLock { $0.jobs[id]?.phase == .resting }
    }

    /// Starts the jobs due at `now`, earliest first, at most ``limitPerWake``; returns how many. Inline
    /// jobs run before it returns.
    @discardableResult
    package func runDue(now: ContinuousClock.Instant) -> Int {
        let due = state.withLock { state -> [(Int, Work)] in
            state.queue.takeDue(now: now, limit: limitPerWake).compactMap { id in
                guard var job = state.jobs[id] else { return nil }
                job.phase = .running
                state.jobs[id] = job
                return (id, job.work)
            }
        }
        for (id, work) in due {
            switch work {
            case .task(let action): Task { [self] in finished(id, next: await action()) }
            case .inline(let action): finished(id, next: action())
            }
        }
        return due.count
    }

    /// Job `id`'s run ended asking for `next`.
    private func finished(_ id: Int, next: Next) {
        let now = ContinuousClock.now
        let (deadline, waiters) = state.withLock {
            state -> (ContinuousClock.Instant?, [CheckedContinuation<Void, Never>]) in
            guard var job = state.jobs[id] else { return (nil, state.ending.removeValue(forKey: id) ?? []) }
            var deadline: ContinuousClock.Instant?
            switch next {
            case .done:
                state.jobs[id] = nil
                return (nil, [])
            case .at(let instant):
                job.phase = .waiting
                deadline = instant
            case .rest(let until):
                job.phase = .resting
                deadline = until
                if job.pokedMeanwhile {
                    job.pokedMeanwhile = false
                    deadline = now
                }
            }
            state.jobs[id] = job
            if let deadline { state.queue.schedule(id, at: deadline) }
            return (deadline, [])
        }
        for waiter in waiters { waiter.resume() }
        if let deadline { deadlineSet(deadline) }
    }

    /// A job got `deadline`: the loop's next turn starts it when it is due already; else a timer of the
    /// loop is set for it when none is set for an earlier instant. A timer set for a later instant is
    /// left to fire for nothing: cancelling it from off the loop would wake the loop now.
    private func deadlineSet(_ deadline: ContinuousClock.Instant) {
        guard let loop else { return }
        let now = ContinuousClock.now
        guard deadline > now else {
            queueTurn(on: loop)
            return
        }
        let arm = state.withLock { state -> Bool in
            // A queued turn sets the timer for whatever is left once it ran.
            guard !state.turnQueued, state.armed.map({ deadline < $0 }) ?? true else { return false }
            state.armed = deadline
            return true
        }
        guard arm else { return }
        loop.scheduleTask(in: TimeAmount(deadline - now)) { [self] in
            state.withLock { state in
                if state.armed == deadline { state.armed = nil }
            }
            turn(on: loop)
        }
    }

    /// Queues a turn of the loop that starts the due jobs, unless one is queued.
    private func queueTurn(on loop: any EventLoop) {
        let queue = state.withLock { state -> Bool in
            guard !state.turnQueued else { return false }
            state.turnQueued = true
            return true
        }
        if queue {
            loop.execute { [self] in
                state.withLock { $0.turnQueued = false }
                turn(on: loop)
            }
        }
    }

    /// On the loop: starts the jobs that are due (at most ``limitPerWake``; another turn follows for the
    /// rest), then sets the timer for the earliest deadline left.
    private func turn(on loop: any EventLoop) {
        if runDue(now: .now) == limitPerWake {
            queueTurn(on: loop)
            return
        }
        if let earliest = state.withLock({ $0.queue.earliest() }) { deadlineSet(earliest) }
    }
}

/// A job of a ``Scheduler``: what its owner pokes and cancels.
package final class ScheduledJob: Sendable {
    let id: Int
    let scheduler: Scheduler

    init(id: Int, scheduler: Scheduler) {
        self.id = id
        self.scheduler = scheduler
    }

    /// Ends the job's rest at once; a job that does not rest now keeps it for its next rest.
    package func poke() { scheduler.poke(id) }

    /// Removes the job: it never runs again (a run on its way goes on).
    package func cancel() { scheduler.cancel(id) }

    /// Removes the job, and returns once a run of it on its way has ended.
    package func end() async {
        scheduler.cancel(id)
        await scheduler.ended(id)
    }

    /// Whether the job rests (until a deadline or a poke), holding no task.
    package var isResting: Bool { scheduler.isResting(id) }
}
