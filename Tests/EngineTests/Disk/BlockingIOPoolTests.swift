import Dispatch
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct BlockingIOPoolTests {
    final class Payload: Sendable {}

    /// Waits for `semaphore` without holding a cooperative thread.
    static func wait(_ semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                semaphore.wait()
                continuation.resume()
            }
        }
    }

    /// A job that ran lets go of what it captured (a downloaded piece's buffer, which the session then
    /// reuses) at once, even while later jobs still wait in the queue.
    @Test func aJobThatRanLetsGoOfItsCapturesWhileOthersWait() async {
        let pool = BlockingIOPool(threads: 1, name: "btq-test-pool")
        defer { pool.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let reached = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        // The only thread waits at the gate while the other jobs queue up behind it, in this order.
        pool.submit { gate.wait() }
        weak var observed: Payload?
        do {
            let payload = Payload()
            observed = payload
            pool.submit { _ = payload }
        }
        pool.submit {
            reached.signal()
            release.wait()
        }
        pool.submit { done.signal() }
        #expect(observed != nil)
        gate.signal()
        await Self.wait(reached)
        // The thread runs the third job: the second one ran, the fourth still waits.
        #expect(observed == nil, "the queue still holds a job that ran")
        release.signal()
        await Self.wait(done)
    }
}
