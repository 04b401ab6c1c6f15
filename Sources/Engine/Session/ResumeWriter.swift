import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// The one thread that performs a process's writes to its ``ResumeStore`` (DESIGN.md, threads and
/// persistence): a session hands its journal batches and checkpoints over (and its read of the record at
/// start) and goes on serving peers while SQLite waits for a lock or the disk.
///
/// Writes run one at a time in the order they were handed over (a FIFO queue in front of one thread), so
/// a session's batches reach the store in the order it made them, and a checkpoint after the batches it
/// vouches for. Each session keeps at most one batch in flight (``ProgressJournal``), so the queue holds at
/// most a few writes per torrent however long the store is locked.
///
/// Batches handed over with ``save(_:to:)`` that wait next to each other in the queue go to their store
/// together (a group commit, ``ResumeStore/saveProgress(together:)``): with many torrents busy at once,
/// one transaction writes the pages they share (the torrents' rows, the history's last page, the
/// indexes) once instead of once per torrent. Each batch still succeeds or fails alone.
package final class ResumeWriter: Sendable {
    /// The process's writer.
    package static let shared = ResumeWriter()

    /// At most this many batches share a transaction, so that one commit holds the database's write lock
    /// for a bounded time.
    package static let groupLimit = 64

    /// A pool of one thread: NIO's pools run jobs in the order submitted.
    private let thread: NIOThreadPool
    /// What was handed over and not yet taken by the thread, in order; each entry has one job submitted
    /// to the thread, which takes the entry at the head then (and the saves right behind it).
    private let waiting = Mutex(CircularBuffer<Job>())

    /// A write handed over.
    private enum Job: Sendable {
        /// Any write: runs alone, told whether the thread still runs jobs.
        case write(@Sendable (NIOThreadPool.WorkItemState) -> Void)
        /// A journal batch that may share a transaction with its neighbours.
        case save(Save)
    }

    /// A batch, its store and who waits for the outcome.
    private struct Save: Sendable {
        let store: any ResumeStore
        let batch: ProgressBatch
        let done: CheckedContinuation<Void, any Error>
    }

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
        let box: ResultBox<T> = try await withCheckedThrowingContinuation { continuation in
            hand(
                .write { state in
                    switch state {
                    case .active: continuation.resume(with: Result { ResultBox(try write()) })
                    case .cancelled: continuation.resume(throwing: CancellationError())
                    }
                })
        }
        return box.take()
    }

    /// Writes `batch` to `store` (``ResumeStore/saveProgress(_:)``) after everything handed over before
    /// it, in one transaction with the batches of the same commit group that wait right behind or before
    /// it; throws what saving this batch threw.
    package func save(_ batch: ProgressBatch, to store: any ResumeStore) async throws {
        try await withCheckedThrowingContinuation { continuation in
            hand(.save(Save(store: store, batch: batch, done: continuation)))
        }
    }

    /// How many writes were handed over and not yet taken by the thread.
    package var waitingCount: Int { waiting.withLock { $0.count } }

    private func hand(_ job: Job) {
        waiting.withLock { $0.append(job) }
        thread.submit { state in self.runNext(state) }
    }

    /// Takes the job at the head of the queue (with the saves of its group right behind it, up to
    /// ``groupLimit``) and runs it; finds nothing when an earlier turn took this turn's job in its group.
    private func runNext(_ state: NIOThreadPool.WorkItemState) {
        let taken: [Job] = waiting.withLock { queue in
            guard let first = queue.popFirst() else { return [] }
            guard case .save(let head) = first, let group = head.store.commitGroup else { return [first] }
            var taken = [first]
            while taken.count < Self.groupLimit, case .save(let next)? = queue.first,
                next.store.commitGroup == group
            {
                taken.append(queue.removeFirst())
            }
            return taken
        }
        let saves = taken.compactMap { job -> Save? in
            switch job {
            case .write(let write):
                write(state)
                return nil
            case .save(let save): return save
            }
        }
        guard let head = saves.first else { return }
        guard case .active = state else {
            for save in saves { save.done.resume(throwing: CancellationError()) }
            return
        }
        guard saves.count > 1 else {
            head.done.resume(with: Result { try head.store.saveProgress(head.batch) })
            return
        }
        do {
            let outcomes = try head.store.saveProgress(together: saves.map { ($0.store, $0.batch) })
            precondition(outcomes.count == saves.count, "one outcome per batch")
            for (save, failure) in zip(saves, outcomes) {
                if let failure { save.done.resume(throwing: failure) } else { save.done.resume() }
            }
        } catch {
            for save in saves { save.done.resume(throwing: error) }
        }
    }
}
