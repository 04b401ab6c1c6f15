import Synchronization

/// The periodic work of one torrent's run as jobs of the process-wide ``Scheduler``: its ticks and its
/// journal's looks. An idle torrent's jobs rest (see ``SessionCore/tickNeed(now:interval:)`` and
/// ``JournalHost/journalMayRest()``) and hold no task; whatever could give the torrent work (a peer, new
/// addresses, a tracker's answer, a stop) pokes them, so a daemon seeding thousands of torrents that
/// nobody asks for wakes for none of them.
final class SessionRests: Sendable {
    private let jobs = Mutex<(ticks: ScheduledJob?, journal: ScheduledJob?)>((nil, nil))
    /// Where the jobs run.
    let scheduler: Scheduler

    init(scheduler: Scheduler = .shared) {
        self.scheduler = scheduler
    }

    /// The run's ticks, while it runs.
    var ticks: ScheduledJob? { jobs.withLock { $0.ticks } }

    /// The journal's looks, while the run goes on.
    var journal: ScheduledJob? { jobs.withLock { $0.journal } }

    /// The run begins: its ticks and its journal's looks start, both one interval from now.
    func start(
        ticks: @escaping Scheduler.Action, every tickInterval: Duration, journal: @escaping Scheduler.Action,
        every journalInterval: Duration
    ) {
        let now = ContinuousClock.now
        let started = (
            ticks: scheduler.add(at: now + tickInterval, ticks),
            journal: scheduler.add(at: now + journalInterval, journal)
        )
        let previous = jobs.withLock { jobs in
            defer { jobs = started }
            return jobs
        }
        previous.ticks?.cancel()
        previous.journal?.cancel()
    }

    /// Something may give the torrent work: both wake.
    func poke() {
        let (ticks, journal) = jobs.withLock { $0 }
        ticks?.poke()
        journal?.poke()
    }

    /// The run ends: neither job runs again, and a run of either on its way has ended when this returns.
    func end() async {
        let (ticks, journal) = jobs.withLock { jobs in
            defer { jobs = (nil, nil) }
            return jobs
        }
        await ticks?.end()
        await journal?.end()
    }
}
