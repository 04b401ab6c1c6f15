/// The deadlines of a ``Scheduler``'s jobs: a binary heap of (deadline, job) with at most one live
/// deadline per job. A job given a new deadline leaves its old entry behind, skipped when it comes up
/// and swept away once stale entries outnumber live ones, so the heap stays within twice the jobs.
/// Plain value, no clock of its own: tests drive it with instants of their choosing.
struct DeadlineQueue {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var job: Int
        /// Which of the job's deadlines this is; older ones are stale.
        var stamp: UInt64
    }

    private var heap: [Entry] = []
    private var live: [Int: (deadline: ContinuousClock.Instant, stamp: UInt64)] = [:]
    private var stamps: UInt64 = 0

    init() {}

    /// Jobs with a deadline.
    var count: Int { live.count }

    /// Entries held, stale ones included (at most about twice ``count``).
    var storedEntries: Int { heap.count }

    /// The deadline of `job`, if it has one.
    func deadline(of job: Int) -> ContinuousClock.Instant? { live[job]?.deadline }

    /// The earliest deadline, if any job has one.
    mutating func earliest() -> ContinuousClock.Instant? {
        dropStaleTop()
        return heap.first?.deadline
    }

    /// Gives `job` the deadline `deadline`, replacing the one it had.
    mutating func schedule(_ job: Int, at deadline: ContinuousClock.Instant) {
        if live[job]?.deadline == deadline { return }
        stamps &+= 1
        live[job] = (deadline, stamps)
        push(Entry(deadline: deadline, job: job, stamp: stamps))
        if heap.count > 2 * live.count + 16 { sweep() }
    }

    /// Takes `job`'s deadline away.
    mutating func cancel(_ job: Int) {
        live[job] = nil
        if heap.count > 2 * live.count + 16 { sweep() }
    }

    /// Takes the jobs due at `now`, earliest first, at most `limit` of them; they no longer have a deadline.
    mutating func takeDue(now: ContinuousClock.Instant, limit: Int) -> [Int] {
        var due: [Int] = []
        while due.count < limit {
            dropStaleTop()
            guard let top = heap.first, top.deadline <= now else { break }
            popTop()
            live[top.job] = nil
            due.append(top.job)
        }
        return due
    }

    private func isLive(_ entry: Entry) -> Bool { live[entry.job]?.stamp == entry.stamp }

    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    /// Rebuilds the heap from the live deadlines only.
    private mutating func sweep() {
        let live = self.live
        heap = heap.filter { live[$0.job]?.stamp == $0.stamp }
        guard heap.count > 1 else { return }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.stamp < b.stamp
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var first = left
            if left + 1 < heap.count, Self.before(heap[left + 1], heap[left]) { first = left + 1 }
            guard Self.before(heap[first], heap[parent]) else { return }
            heap.swapAt(first, parent)
            parent = first
        }
    }
}
