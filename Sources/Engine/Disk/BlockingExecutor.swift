/// Runs blocking work (file I/O, hashing) away from Swift's cooperative thread pool.
///
/// Storage backends take one of these instead of a concrete pool so that the work can move onto
/// SwiftNIO's `NIOThreadPool` later without touching the backends.
public protocol BlockingExecutor: Sendable {
    /// Runs `work` on a thread of the executor and returns its result to the awaiting task.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T
}
