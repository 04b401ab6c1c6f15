import Synchronization
import TestSupport
import Testing

@testable import Engine

/// A bound on work at once (start checks, tracker requests): no more than the limit run at once, the
/// others get their turns in the order they asked, and a caller cancelled while waiting goes on at once.
@Suite(.timeLimit(.minutes(1)))
struct TurnGateTests {
    /// Work that runs until the test lets each go, recording the order they began in.
    final class Checks: Sendable {
        private let state = Mutex((began: [Int](), releases: [Int: CheckedContinuation<Void, Never>]()))

        var began: [Int] { state.withLock { $0.began } }

        /// A check: records that `id` began, then waits for ``release(_:)``.
        func run(_ id: Int) async {
            await withCheckedContinuation { release in
                state.withLock { state in
                    state.began.append(id)
                    state.releases[id] = release
                }
            }
        }

        /// Ends check `id`; false if it has not begun.
        func release(_ id: Int) -> Bool {
            guard let release = state.withLock({ $0.releases.removeValue(forKey: id) }) else { return false }
            release.resume()
            return true
        }
    }

    @Test func noMoreThanTheLimitRunAndTheRestGoInTheOrderTheyAsked() async throws {
        let gate = TurnGate(limit: 2)
        let checks = Checks()
        var tasks: [Task<Void, Never>] = []
        for id in 0..<6 {
            tasks.append(Task { await gate.withTurn { await checks.run(id) } })
            // Each asks after the one before is running or waiting, so the order they asked is known.
            #expect(try await poll(timeout: .seconds(10)) { gate.running + gate.waiting == id + 1 })
        }
        #expect(try await poll(timeout: .seconds(10)) { checks.began == [0, 1] })
        #expect(gate.running == 2 && gate.waiting == 4)
        #expect(checks.release(1))
        #expect(try await poll(timeout: .seconds(10)) { checks.began == [0, 1, 2] })
        #expect(gate.running == 2 && gate.waiting == 3)
        // Each check that ends lets the next waiter begin, until none waits.
        for (id, begun) in [(0, 4), (2, 5), (3, 6)] {
            #expect(checks.release(id))
            #expect(try await poll(timeout: .seconds(10)) { checks.began.count == begun })
        }
        #expect(checks.began == [0, 1, 2, 3, 4, 5])
        #expect(gate.running == 2 && gate.waiting == 0)
        #expect(checks.release(4) && checks.release(5))
        for task in tasks { await task.value }
        #expect(gate.running == 0 && gate.waiting == 0)
    }

    @Test func aCancelledWaiterGoesOnAtOnceAndTheOthersKeepTheirTurns() async throws {
        let gate = TurnGate(limit: 1)
        let checks = Checks()
        let first = Task { await gate.withTurn { await checks.run(0) } }
        #expect(try await poll(timeout: .seconds(10)) { checks.began == [0] })
        let cancelled = Task { await gate.withTurn { Task.isCancelled } }
        #expect(try await poll(timeout: .seconds(10)) { gate.waiting == 1 })
        let third = Task { await gate.withTurn { await checks.run(2) } }
        #expect(try await poll(timeout: .seconds(10)) { gate.waiting == 2 })
        cancelled.cancel()
        // Let through while the first still runs: its turn did not wait for the first to end.
        #expect(await cancelled.value)
        #expect(checks.began == [0] && gate.waiting == 1)
        #expect(checks.release(0))
        #expect(try await poll(timeout: .seconds(10)) { checks.began == [0, 2] })
        #expect(checks.release(2))
        await first.value
        await third.value
        #expect(gate.running == 0 && gate.waiting == 0)
    }

    @Test func aThrowingCheckGivesUpItsTurn() async throws {
        struct Failed: Error {}
        let gate = TurnGate(limit: 1)
        await #expect(throws: Failed.self) { try await gate.withTurn { throw Failed() } }
        #expect(gate.running == 0)
        #expect(await gate.withTurn { 7 } == 7)
        #expect(gate.running == 0)
    }
}
