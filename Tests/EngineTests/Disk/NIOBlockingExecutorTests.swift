import Dispatch
import Foundation
import NIOPosix
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct NIOBlockingExecutorTests {
    struct Failure: Error, Equatable {}

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
        await BlockingIOPoolTests.wait(ran)
        try await pool.shutdownGracefully()
    }
}
