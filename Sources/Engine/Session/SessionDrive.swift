import Synchronization

/// What a session's run holds while it works without a task of its own (see
/// ``TorrentSession/start(onEnd:)``): who hears how it ended, and the tasks it started, which end with it.
struct SessionDrive {
    /// Who hears how the run ended; `nil` before the work started and once told.
    var ending: TorrentSession.Ending?
    /// The run's tasks (dials, web seeds) by id, each removed when it ends.
    var children: [UInt64: Task<Void, Never>] = [:]
    /// The completion announced to the trackers, waited for before they hear of the end.
    var completion: Task<Void, Never>?
    /// The run's place under the process's dial pace (`nil`: none).
    var dialTurns: DialTurns?
    private var lastChildID: UInt64 = 0

    /// An id for the next child task.
    mutating func nextChildID() -> UInt64 {
        lastChildID &+= 1
        return lastChildID
    }

    /// The run's tasks still going, forgotten here: the run cancels and waits for them.
    mutating func takeChildren() -> [Task<Void, Never>] {
        defer { children = [:] }
        return Array(children.values)
    }

    /// Who hears how the run ended, forgotten here so that it hears once.
    mutating func takeEnding() -> TorrentSession.Ending? {
        defer { ending = nil }
        return ending
    }
}

extension TorrentSession {
    /// Hears how a run ended, once, after its progress was saved.
    package typealias Ending = @Sendable (Outcome) async -> Void
}

/// How a run ended, for ``TorrentSession/run()`` to wait on: delivered once from whatever task ended it.
final class RunEnding: Sendable {
    private enum State {
        case waiting(CheckedContinuation<TorrentSession.Outcome, Never>?)
        case ended(TorrentSession.Outcome)
    }

    private let state = Mutex(State.waiting(nil))

    /// How the run ended; `nil` while it goes on.
    var ended: TorrentSession.Outcome? {
        state.withLock { state in
            if case .ended(let outcome) = state { return outcome }
            return nil
        }
    }

    /// The run ended with `outcome` (the first one delivered counts): a waiter hears it now, a later one
    /// at once.
    func deliver(_ outcome: TorrentSession.Outcome) {
        let waiter = state.withLock { state -> CheckedContinuation<TorrentSession.Outcome, Never>? in
            guard case .waiting(let waiter) = state else { return nil }
            state = .ended(outcome)
            return waiter
        }
        waiter?.resume(returning: outcome)
    }

    /// Starts a run with `start`, handing it this ending, and waits for the outcome; cancelling the waiting
    /// task calls `stop` (the run ends as stopped ones do, its progress saved).
    static func waitForRun(
        start: @Sendable (@escaping TorrentSession.Ending) async -> Void, stop: @escaping @Sendable () async -> Void
    ) async -> TorrentSession.Outcome {
        let ending = RunEnding()
        return await withTaskCancellationHandler {
            await start { ending.deliver($0) }
            return await ending.outcome()
        } onCancel: {
            Task { await stop() }
        }
    }

    /// Waits for the outcome (one waiter).
    func outcome() async -> TorrentSession.Outcome {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> TorrentSession.Outcome? in
                switch state {
                case .ended(let outcome): return outcome
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                }
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }
}
