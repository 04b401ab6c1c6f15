import Foundation
import NIOPosix

/// SwiftNIO's blocking pool as the executor of file I/O and hashing.
///
/// Work is submitted with `submit`, not `runIfActive`: a job runs even when the task that awaits it is
/// cancelled meanwhile (a block write or the last journal sync of a stopping session must not be
/// dropped half-way), as ``BlockingIOPool`` does.
public struct NIOBlockingExecutor: BlockingExecutor {
    let pool: NIOThreadPool

    /// An executor over `pool` (NIO's process-wide one by default).
    public init(pool: NIOThreadPool = .singleton) {
        self.pool = pool
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.submit { state in
                switch state {
                case .active: continuation.resume(with: Result { try work() })
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        }
    }
}

/// Which pool runs the process's blocking work.
public enum BlockingWork {
    /// The process's executor: btq's own ``BlockingIOPool`` unless the environment variable
    /// `BTQ_BLOCKING_POOL` is `nio` (for the A/B measurement of the two in `Benchmarks/`; DESIGN.md).
    public static let shared: any BlockingExecutor =
        ProcessInfo.processInfo.environment["BTQ_BLOCKING_POOL"] == "nio"
        ? NIOBlockingExecutor() : BlockingIOPool.shared
}
