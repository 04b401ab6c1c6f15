import NIOCore
import NIOPosix
import Synchronization

/// A wait that another task cuts short: ``rest(upTo:)`` returns after the time given, at a ``poke()``, or
/// when its task is cancelled. A poke while nobody rests is kept: the next rest returns at once, so a
/// poke between deciding to rest and resting is never lost.
///
/// The ``Scheduler``'s watching task sleeps on one until the next deadline, and anything setting an
/// earlier deadline pokes it. The time is kept by a timer of an event loop, not a `Task.sleep` raced
/// against the poke in a task group: that took two child tasks and a dispatch timer, armed and cancelled
/// on dispatch's manager thread, at every rest cut short (a daemon's scheduler is poked tens of times a
/// second while it dials at its pace).
final class Doze: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var poked = false
        /// The number of the latest rest: a timer set for an earlier one finds another and does nothing.
        var rest: UInt64 = 0
        var timer: Scheduled<Void>?
    }

    private let state = Mutex(State())
    private let loop: any EventLoop

    /// A doze whose times are kept on `loop`.
    init(loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.loop = loop
    }

    /// Something rests on it now.
    var hasWaiter: Bool { state.withLock { $0.waiter != nil } }

    /// Ends the current rest, or the next one at once when nobody rests.
    func poke() {
        let (waiter, timer) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Scheduled<Void>?) in
            guard let waiter = state.waiter else {
                state.poked = true
                return (nil, nil)
            }
            state.waiter = nil
            defer { state.timer = nil }
            return (waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }

    /// Waits until `limit` has passed (never, when `nil`), until poked, or until the task is cancelled;
    /// a poke that came before returns at once (and is used up).
    func rest(upTo limit: Duration?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let number = state.withLock { state -> UInt64? in
                    if state.poked || Task.isCancelled {
                        state.poked = false
                        return nil
                    }
                    state.waiter = continuation
                    state.rest &+= 1
                    return state.rest
                }
                guard let number else {
                    continuation.resume()
                    return
                }
                guard let limit else { return }
                let timer = loop.scheduleTask(in: TimeAmount(limit)) { [self] in timeUp(number) }
                // Kept to be cancelled by a poke; a poke that came first leaves it to fire for nothing.
                let stale = state.withLock { state -> Bool in
                    guard state.rest == number, state.waiter != nil else { return true }
                    state.timer = timer
                    return false
                }
                if stale { timer.cancel() }
            }
        } onCancel: {
            let (waiter, timer) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Scheduled<Void>?) in
                defer {
                    state.waiter = nil
                    state.timer = nil
                }
                return (state.waiter, state.timer)
            }
            timer?.cancel()
            waiter?.resume()
        }
    }

    /// The timer of rest `number` fired: it ends, unless it ended already.
    private func timeUp(_ number: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.rest == number, let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.timer = nil
            return waiter
        }
        waiter?.resume()
    }
}
