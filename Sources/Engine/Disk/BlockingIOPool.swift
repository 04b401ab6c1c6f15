import Foundation

/// A small fixed pool of dedicated threads for blocking work, fed through a FIFO queue.
///
/// Each submitted closure runs on one of the pool's own threads (never a Dispatch or cooperative
/// thread), so a blocking `pread` or a long SHA-1 never starves Swift concurrency. After
/// ``shutdown()`` the threads finish the queued work and exit; later work runs inline on the caller.
public final class BlockingIOPool: BlockingExecutor, @unchecked Sendable {
    // Invariant for @unchecked Sendable: `queue`, `head` and `isShutDown` are only read or written
    // while `condition` is locked; the other stored properties are immutable.
    private let condition = NSCondition()
    /// Jobs waiting from `head` on; a taken job's slot is emptied at once, so nothing it captured (a
    /// piece's buffer) outlives the job while later jobs still wait.
    private var queue: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var isShutDown = false

    /// The number of threads.
    public let threadCount: Int

    /// A process-wide pool with one thread per core (at least two).
    public static let shared = BlockingIOPool(threads: max(2, ProcessInfo.processInfo.activeProcessorCount))

    /// Starts `threads` threads named `name-N`.
    public init(threads: Int, name: String = "btq-io") {
        precondition(threads > 0, "a pool needs at least one thread")
        self.threadCount = threads
        for index in 0..<threads {
            let thread = Thread { [self] in self.workLoop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `work` on a pool thread.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs non-throwing `work` on a pool thread.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: work()) }
        }
    }

    /// Lets the threads exit once the queue is empty. Idempotent.
    public func shutdown() {
        condition.lock()
        isShutDown = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `job` (internal for tests, which need jobs queued in a known order).
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !isShutDown else {
            condition.unlock()
            job()
            return
        }
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    private func workLoop() {
        while let job = nextJob() {
            job()
        }
    }

    /// Blocks until a job is queued; `nil` once shut down with nothing left to do.
    private func nextJob() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count {
            if isShutDown { return nil }
            condition.wait()
        }
        let job = queue[head]
        queue[head] = nil
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return job
    }
}
