/// Why a step of ``TorrentSession``'s run loop happens.
enum LoopWake: Sendable {
    /// The tick interval passed.
    case tick
    /// Something it acts on changed: new peers to dial, the download complete, a stop or a fault.
    case event
}

/// Wakes ``TorrentSession``'s run loop between ticks. The loop has no task of its own: a wake starts
/// one step of it (through the closure given at ``start(step:)``), with at most one early step queued at a
/// time (more wakes before it runs add nothing). The ticks come from a ``Scheduler`` job, which steps the
/// loop itself.
struct LoopWaker {
    /// Queues a step of the loop for an event; set while a loop runs.
    private var step: (@Sendable () -> Void)?
    /// An early step is queued and has not run yet.
    private var pending = false
    /// When the loop last did its periodic work (see ``took(_:now:interval:)``).
    private var lastTick = ContinuousClock.now

    /// Half the tick interval last asked about (see ``took(_:now:interval:)``).
    private var halfInterval: (of: Duration, half: Duration) = (.zero, .zero)

    /// The ticks rest while the torrent is idle (see ``TorrentSession/tickStep(every:)``).
    var ticksRest = false

    /// True while a loop takes the wakes (between ``start(step:)`` and ``end()``).
    var isRunning: Bool { step != nil }

    /// A loop starts: each early wake from now on calls `step`, which queues one step of it.
    mutating func start(step: @escaping @Sendable () -> Void) {
        self.step = step
        pending = false
        ticksRest = false
        lastTick = .now
    }

    /// Has the loop act now rather than at its next tick; nothing while no loop runs or a step is queued.
    mutating func wake() {
        guard let step, !pending else { return }
        pending = true
        step()
    }

    /// The loop took `wake`: a later ``wake()`` queues a new step.
    mutating func took(_ wake: LoopWake) {
        if wake == .event { pending = false }
    }

    /// The loop took `wake` at `now`; returns true when it is to do its periodic work: a tick at least
    /// half of `interval` after the last one (ticks that queued up while the loop was busy are one tick,
    /// not a burst).
    mutating func took(_ wake: LoopWake, now: ContinuousClock.Instant, interval: Duration) -> Bool {
        took(wake)
        guard wake == .tick else { return false }
        // Dividing a `Duration` is a 128-bit division (1% of a daemon's CPU while it dials gone peers):
        // once per interval, not per tick.
        if halfInterval.of != interval { halfInterval = (interval, interval / 2) }
        guard now - lastTick >= halfInterval.half else { return false }
        lastTick = now
        return true
    }

    /// The loop ended: wakes are ignored.
    mutating func end() {
        step = nil
    }
}
