import Synchronization

/// One process-wide clock for the periodic work of every torrent: a session's ticks, its journal's looks
/// and its trackers' announces and scrapes are jobs here, each with a deadline in one heap
/// (``DeadlineQueue``) watched by one task. A job runs (in a short task of its own) when its deadline
/// comes, or when poked while it rests, and says when it is next due; between two runs it holds no task
/// and no task frame, so a daemon seeding thousands of idle torrents keeps a heap entry per job instead
/// of a sleeping task per loop.
///
/// A job runs one at a time: a poke during a run is kept for the rest that follows it, as with a
/// ``Doze``. Each wake of the watching task starts at most ``limitPerWake`` jobs before it yields, so a
/// storm of deadlines (every torrent starting at once) never holds the cooperative pool for long.
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

    private enum Phase {
        /// Waits for a regular deadline.
        case waiting
        /// Rests until its deadline, if any, or a poke.
        case resting
        /// Its action runs.
        case running
    }

    private struct Job {
        let action: Action
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
        /// The watching task runs.
        var driving = false
        /// When the watching task wakes next (`nil`: only when told).
        var target: ContinuousClock.Instant?
    }

    /// The scheduler the sessions of this process share.
    package static let shared = Scheduler()

    /// How many jobs one wake of the watching task starts at most before it yields.
    package let limitPerWake: Int
    private let drives: Bool
    private let state = Mutex(State())
    private let alarm = Doze()

    /// A scheduler that starts at most `limitPerWake` jobs per wake. Without `drives` no task watches
    /// the deadlines: whoever made it calls ``runDue(now:)`` (tests do, to step time themselves).
    package init(limitPerWake: Int = 256, drives: Bool = true) {
        precondition(limitPerWake > 0)
        self.limitPerWake = limitPerWake
        self.drives = drives
    }

    /// Jobs held (running, waiting or resting).
    package var jobCount: Int { state.withLock { $0.jobs.count } }

    /// Adds a job whose first run is at `first` (regular), or that rests until poked when `first` is `nil`.
    package func add(at first: ContinuousClock.Instant?, _ action: @escaping Action) -> ScheduledJob {
        let id = state.withLock { state -> Int in
            let id = state.nextId
            state.nextId += 1
            state.jobs[id] = Job(action: action, phase: first == nil ? .resting : .waiting)
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

    /// Starts the jobs due at `now`, earliest first, at most ``limitPerWake``; returns how many.
    @discardableResult
    package func runDue(now: ContinuousClock.Instant) -> Int {
        let due = state.withLock { state -> [(Int, Action)] in
            state.queue.takeDue(now: now, limit: limitPerWake).compactMap { id in
                guard var job = state.jobs[id] else { return nil }
                job.phase = .running
                state.jobs[id] = job
                return (id, job.action)
            }
        }
        for (id, action) in due {
            Task { [self] in finished(id, next: await action()) }
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

    /// A job got `deadline`: the watching task wakes for it if it would sleep past it, and starts if it
    /// was not running.
    private func deadlineSet(_ deadline: ContinuousClock.Instant) {
        guard drives else { return }
        let (start, wake) = state.withLock { state -> (Bool, Bool) in
            guard state.driving else {
                state.driving = true
                state.target = deadline
                return (true, false)
            }
            guard state.target.map({ deadline < $0 }) ?? true else { return (false, false) }
            state.target = deadline
            return (false, true)
        }
        if start { Task.detached { [self] in await drive() } }
        if wake { alarm.poke() }
    }

    /// The watching task: starts the jobs that are due, then sleeps until the next deadline or until an
    /// earlier one is set; ends when no job has a deadline (the next deadline set starts it again, a run
    /// that ends included).
    private func drive() async {
        while true {
            let started = runDue(now: .now)
            if started == limitPerWake {
                await Task.yield()
                continue
            }
            let next = state.withLock { state -> ContinuousClock.Instant?? in
                let earliest = state.queue.earliest()
                if earliest == nil {
                    state.driving = false
                    return .none
                }
                state.target = earliest
                return .some(earliest)
            }
            guard let next else { return }
            await alarm.rest(upTo: next.map { max(.zero, $0 - .now) })
        }
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
