import Dispatch
import NIOPosix

/// The one thread that performs a process's writes to its ``ResumeStore`` (DESIGN.md, threads and
/// persistence): a session hands its journal batches and checkpoints over (and its read of the record at
/// start) and goes on serving peers while SQLite waits for a lock or the disk.
///
/// Writes run one at a time in the order they were handed over (a FIFO queue in front of one thread), so
/// a session's batches reach the store in the order it made them, and a checkpoint after the batches it
/// vouches for. Each session keeps at most one batch in flight (``ProgressJournal``), so the queue holds at
/// most a few writes per torrent however long the store is locked.
package final class ResumeWriter: Sendable {
    /// The process's writer.
    package static let shared = ResumeWriter()

    /// A pool of one thread: NIO's pools run jobs in the order submitted.
    private let thread: NIOThreadPool

    /// A writer with a thread of its own.
    package init() {
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
    }

    deinit {
        // Nothing is queued: every write is awaited by a caller that holds the writer.
        thread.shutdownGracefully(queue: .global()) { _ in }
    }

    /// Runs `write` on the writer's thread after everything handed over before it; returns its result or
    /// rethrows its error.
    package func perform<T: Sendable>(_ write: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOBlockingExecutor(pool: thread).run(write)
    }
}
