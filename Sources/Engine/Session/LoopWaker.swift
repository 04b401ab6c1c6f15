/// Why ``TorrentSession/run()``'s loop wakes up.
enum LoopWake: Sendable {
    /// The tick interval passed.
    case tick
    /// Something it acts on changed: new peers to dial, the download complete, a stop or a fault.
    case event
}

/// Wakes ``TorrentSession/run()``'s loop between ticks: the stream of wakes the loop waits on while
/// it runs, with at most one early wake queued at a time (more wakes before the loop takes it add
/// nothing).
struct LoopWaker {
    private var continuation: AsyncStream<LoopWake>.Continuation?
    /// An early wake is queued and the loop has not taken it yet.
    private var pending = false
    /// When the loop last did its periodic work (see ``took(_:now:interval:)``).
    private var lastTick = ContinuousClock.now

    /// The ticks rest while the torrent is idle (see ``TorrentSession/tickStep(_:every:)``).
    var ticksRest = false

    /// True while a loop takes the wakes (between ``start()`` and ``end()``).
    var isRunning: Bool { continuation != nil }

    /// Opens the stream of wakes for a loop; the continuation is for the ticks, which come from a
    /// ``Scheduler`` job.
    mutating func start() -> (wakes: AsyncStream<LoopWake>, ticks: AsyncStream<LoopWake>.Continuation) {
        let (wakes, continuation) = AsyncStream<LoopWake>.makeStream()
        self.continuation = continuation
        pending = false
        ticksRest = false
        lastTick = .now
        return (wakes, continuation)
    }

    /// Has the loop act now rather than at its next tick; nothing while no loop runs or a wake is queued.
    mutating func wake() {
        guard let continuation, !pending else { return }
        pending = true
        continuation.yield(.event)
    }

    /// The loop took `wake`: a later ``wake()`` queues a new one.
    mutating func took(_ wake: LoopWake) {
        if wake == .event { pending = false }
    }

    /// The loop took `wake` at `now`; returns true when it is to do its periodic work: a tick at least
    /// half of `interval` after the last one (ticks that queued up while the loop was busy are one tick,
    /// not a burst).
    mutating func took(_ wake: LoopWake, now: ContinuousClock.Instant, interval: Duration) -> Bool {
        took(wake)
        guard wake == .tick, now - lastTick >= interval / 2 else { return false }
        lastTick = now
        return true
    }

    /// The loop ended: the stream finishes and wakes are ignored.
    mutating func end() {
        continuation?.finish()
        continuation = nil
    }
}
