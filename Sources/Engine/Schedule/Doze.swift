import Synchronization

/// A wait that another task cuts short: ``rest(upTo:)`` returns after the time given, at a ``poke()``, or
/// when its task is cancelled. A poke while nobody rests is kept: the next rest returns at once, so a
/// poke between deciding to rest and resting is never lost.
///
/// The ``Scheduler``'s watching task sleeps on one until the next deadline, and anything setting an
/// earlier deadline pokes it.
final class Doze: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var poked = false
    }

    private let state = Mutex(State())

    init() {}

    /// Something rests on it now.
    var hasWaiter: Bool { state.withLock { $0.waiter != nil } }

    /// Ends the current rest, or the next one at once when nobody rests.
    func poke() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.poked = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Waits until `limit` has passed (never, when `nil`), until poked, or until the task is cancelled;
    /// a poke that came before returns at once (and is used up).
    func rest(upTo limit: Duration?) async {
        guard let limit else {
            await untilPoked()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: limit) }
            group.addTask { await self.untilPoked() }
            await group.next()
            group.cancelAll()
        }
    }

    private func untilPoked() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.poked || Task.isCancelled {
                        state.poked = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
