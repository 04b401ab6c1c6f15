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

    /// True while a loop takes the wakes (between ``start()`` and ``end()``).
    var isRunning: Bool { continuation != nil }

    /// Opens the stream of wakes for a loop; the continuation is for the ticks, which come from a task
    /// of their own.
    mutating func start() -> (wakes: AsyncStream<LoopWake>, ticks: AsyncStream<LoopWake>.Continuation) {
        let (wakes, continuation) = AsyncStream<LoopWake>.makeStream()
        self.continuation = continuation
        pending = false
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

    /// The loop ended: the stream finishes and wakes are ignored.
    mutating func end() {
        continuation?.finish()
        continuation = nil
    }
}
