import Foundation
import NIOPosix
import Synchronization

/// SwiftNIO's blocking pool as the executor of file I/O and hashing: its own threads (one per core),
/// never an event loop or a thread of the cooperative pool, so a blocking `pwrite` or a long SHA-1 never
/// starves Swift concurrency. Jobs run in the order submitted, and a job's captures (a piece's buffer)
/// are let go of as soon as it ran.
///
/// Work is submitted with `submit`, not `runIfActive`: a job runs even when the task that awaits it is
/// cancelled meanwhile (a block write or the last journal sync of a stopping session must not be
/// dropped half-way).
public struct NIOBlockingExecutor: BlockingExecutor {
    let pool: NIOThreadPool

    /// An executor over `pool` (NIO's process-wide one by default).
    public init(pool: NIOThreadPool = .singleton) {
        self.pool = pool
    }

    /// The result travels in a box the awaiting task empties: the pool's thread still holds what it
    /// resumed the task with until its job returns, and were that the result itself (a buffer), the
    /// task, resumed on another thread meanwhile, could find it shared and copy it on its next write.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let box: ResultBox<T> = try await withCheckedThrowingContinuation { continuation in
            pool.submit { state in
                switch state {
                case .active: continuation.resume(with: Result { ResultBox(try work()) })
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        }
        return box.take()
    }
}

/// A job's result, taken out once by the task that awaited it.
final class ResultBox<T: Sendable>: Sendable {
    private let slot: Mutex<T?>

    init(_ value: consuming T) { slot = Mutex(value) }

    func take() -> T { slot.withLock { $0.take()! } }
}
