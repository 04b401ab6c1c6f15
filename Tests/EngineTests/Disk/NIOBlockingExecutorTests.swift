import Dispatch
import Foundation
import NIOPosix
import Testing

@testable import Engine

/// Runs `body` with an executor over a pool of its own of `threads` threads, shut down after.
func withBlockingPool<T>(
    threads: Int, _ body: (NIOBlockingExecutor) async throws -> T
) async throws -> T {
    let pool = NIOThreadPool(numberOfThreads: threads)
    pool.start()
    do {
        let result = try await body(NIOBlockingExecutor(pool: pool))
        try await pool.shutdownGracefully()
        return result
    } catch {
        try? await pool.shutdownGracefully()
        throw error
    }
}

@Suite(.timeLimit(.minutes(5))) struct NIOBlockingExecutorTests {
    struct Failure: Error, Equatable {}

    /// Waits for `semaphore` without holding a cooperative thread.
    static func wait(_ semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                semaphore.wait()
                continuation.resume()
            }
        }
    }

    final class Payload: Sendable {}

    /// A job that ran lets go of what it captured (a downloaded piece's buffer, which the session then
    /// reuses) at once, even while later jobs still wait in the queue.
    @Test func aJobThatRanLetsGoOfItsCapturesWhileOthersWait() async throws {
        try await withBlockingPool(threads: 1) { (executor: NIOBlockingExecutor) async throws in
            let gate = DispatchSemaphore(value: 0)
            let reached = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            // The only thread waits at the gate while the other jobs queue up behind it, in this order.
            executor.pool.submit { _ in gate.wait() }
            weak var observed: Payload?
            do {
                let payload = Payload()
                observed = payload
                executor.pool.submit { _ in _ = payload }
            }
            executor.pool.submit { _ in
                reached.signal()
                release.wait()
            }
            let last = Task { try await executor.run { 1 } }
            #expect(observed != nil)
            gate.signal()
            await Self.wait(reached)
            // The thread runs the third job: the second one ran, the fourth still waits.
            #expect(observed == nil, "the queue still holds a job that ran")
            release.signal()
            #expect(try await last.value == 1)
        }
    }

    @Test func runsWorkOnThePoolAndReturnsItsResultOrError() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let executor = NIOBlockingExecutor(pool: pool)
        let name = try await executor.run { Thread.current.name ?? "" }
        #expect(name != "" && !name.contains("cooperative"))
        await #expect(throws: Failure.self) { try await executor.run { () throws -> Int in throw Failure() } }
        try await pool.shutdownGracefully()
    }

    /// A job queued by a task that is cancelled meanwhile still runs (a block write must not be dropped).
    @Test func queuedWorkRunsThoughItsTaskIsCancelled() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let executor = NIOBlockingExecutor(pool: pool)
        let gate = DispatchSemaphore(value: 0)
        let ran = DispatchSemaphore(value: 0)
        pool.submit { _ in gate.wait() }
        let task = Task { try await executor.run { ran.signal() } }
        task.cancel()
        gate.signal()
        _ = try await task.value
        await Self.wait(ran)
        try await pool.shutdownGracefully()
    }
}
