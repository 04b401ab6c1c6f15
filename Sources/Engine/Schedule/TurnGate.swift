import Synchronization

/// A bound on how many of some kind of work run at once over a process, the rest waiting their turn in
/// the order they asked: the start checks of every session (``SessionConfiguration/startChecks``, like
/// the "queued for checking" state of other clients) and the HTTP tracker requests of every torrent
/// (``HTTPTrackerClient``, like libtorrent's `max_concurrent_http_announces`).
///
/// When a daemon starts thousands of torrents, each checks its data and announces. Run all at once,
/// that work holds its buffers, rows, descriptors and connections together and fights over the disk
/// and the tracker: a restart of 5,000 seeds held 243-295 MiB one time and 141 MiB another, as the
/// machine's load let more or fewer pile up. In turns, a few at a time, each finishes quickly and lets
/// go of what it held.
package final class TurnGate: Sendable {
    /// The number of start checks at once: enough to keep two cores and a disk busy while one check
    /// waits on the database or hashes a changed file.
    package static let startChecks = 8

    /// Most running at once.
    package let limit: Int

    private struct State {
        var running = 0
        var nextTicket: UInt64 = 0
        /// Tickets of the callers waiting, in the order they asked; a ticket whose caller was cancelled
        /// stays here without a waiter and is skipped.
        var queue: [UInt64] = []
        var head = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

        /// Hands the turn of a caller that left to the next waiter, if any; else one fewer runs. A caller
        /// let through over the limit (cancelled while it waited) hands on no turn.
        mutating func passOn(limit: Int) -> CheckedContinuation<Void, Never>? {
            while running <= limit, head < queue.count {
                let ticket = queue[head]
                head += 1
                if let waiter = waiters.removeValue(forKey: ticket) {
                    compact()
                    return waiter
                }
            }
            compact()
            running -= 1
            return nil
        }

        /// Drops the tickets already served once they are most of the queue: linear work overall.
        private mutating func compact() {
            guard head > 64, head * 2 > queue.count else { return }
            queue.removeFirst(head)
            head = 0
        }
    }

    private let state = Mutex(State())

    package init(limit: Int) {
        precondition(limit > 0, "a limit of work at once must be positive")
        self.limit = limit
    }

    /// How many run now (for tests).
    package var running: Int { state.withLock { $0.running } }

    /// Callers waiting for a turn now.
    package var waiting: Int { state.withLock { $0.waiters.count } }

    /// Runs `body` in a turn: at once while fewer than ``limit`` run, else after the callers that asked
    /// before. A caller cancelled while it waits is let through at once, over the limit (it is ending:
    /// its work, if it runs, is short), so cancellation never waits for others' work.
    package func withTurn<R>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> sending R
    ) async rethrows -> sending R {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        let ticket: UInt64? = state.withLock { state in
            guard state.running >= limit else {
                state.running += 1
                return nil
            }
            state.nextTicket += 1
            state.queue.append(state.nextTicket)
            return state.nextTicket
        }
        guard let ticket else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                let admitted = state.withLock { state -> Bool in
                    // Cancelled before it could wait (the handler found no waiter), or a turn came free
                    // in between: go on at once.
                    if Task.isCancelled || state.running < limit {
                        state.running += 1
                        return true
                    }
                    state.waiters[ticket] = waiter
                    return false
                }
                if admitted { waiter.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                let waiter = state.waiters.removeValue(forKey: ticket)
                if waiter != nil { state.running += 1 }
                return waiter
            }
            waiter?.resume()
        }
    }

    private func leave() {
        state.withLock { $0.passOn(limit: limit) }?.resume()
    }
}
