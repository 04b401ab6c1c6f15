import Foundation
import Glibc
import Synchronization

/// A bounded, least-recently-used set of open file descriptors shared by the I/O threads of one
/// ``FileStorage``, like libtorrent's file pool.
///
/// A descriptor is checked out for the duration of one system call sequence and is never closed while
/// checked out, so a `pread` can never hit a descriptor number reused by another file. When more
/// files are in use at once than the capacity allows, the cache grows temporarily.
final class FileDescriptorCache: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every mutable property is accessed only with `lock` held.
    private struct Entry {
        var descriptor: Int32
        var writable: Bool
        var lastUse: UInt64
        var users: Int
    }

    private let lock = NSLock()
    private var entries: [Int: Entry] = [:]
    /// Files written since each consumer last took them (see ``WrittenSet``).
    private var writtenSince: [WrittenSet: Set<Int>] = [:]
    private var isClosed = false
    /// One clock for every cache, so that the least recently used descriptor of the whole process can
    /// be told (``OpenFileBudget``).
    private static let clock = Atomic<UInt64>(0)

    /// The number of descriptors kept open when idle.
    let capacity: Int
    /// The process-wide bound this cache counts against, if any.
    private let budget: OpenFileBudget?

    init(capacity: Int, budget: OpenFileBudget? = nil) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        self.budget = budget
        budget?.register(self)
    }

    deinit {
        budget?.deregister(self)
        budget?.adjust(by: -entries.count)
        for entry in entries.values { Glibc.close(entry.descriptor) }
    }

    /// The number of descriptors currently open (for tests).
    var openCount: Int { lock.withLock { entries.count } }

    /// True after ``closeAll()``.
    var closed: Bool { lock.withLock { isClosed } }

    /// Runs `body` with a descriptor of `file`, opening it with `open(writable)` on a miss.
    ///
    /// A read-only descriptor is reopened when `writable` is needed. `closedError` is thrown after
    /// ``closeAll()``. When `writable`, the file is marked written (in every ``WrittenSet``) after `body`
    /// returns or throws, under the same lock ``take(_:)`` takes: a consumer that takes the file has seen
    /// every write that finished before, and a write still under way when it takes is left for its next
    /// take (a sync never vouches for a write it may have started before).
    func withDescriptor<R>(
        file: Int, writable: Bool, closedError: @autoclosure () -> any Error,
        open: (_ writable: Bool) throws -> Int32, body: (Int32) throws -> R
    ) throws -> R {
        let (descriptor, opened) = try checkOut(file: file, writable: writable, closedError: closedError(), open: open)
        budget?.adjust(by: opened)
        defer {
            // A file that became idle may be the one to close when the process is over its budget.
            let closed = checkIn(file: file, descriptor: descriptor, written: writable)
            budget?.adjust(by: closed)
        }
        return try body(descriptor)
    }

    /// Runs `body` with the descriptor of `file` when one is open; `nil`, with nothing opened, when none is.
    func withOpenDescriptor<R>(file: Int, _ body: (Int32) throws -> R) rethrows -> R? {
        let descriptor: Int32? = lock.withLock {
            guard !isClosed, var entry = entries[file] else { return nil }
            entry.users += 1
            entries[file] = entry
            return entry.descriptor
        }
        guard let descriptor else { return nil }
        defer { budget?.adjust(by: checkIn(file: file, descriptor: descriptor, written: false)) }
        return try body(descriptor)
    }

    /// Who asks which files were written: each gets every file written since its own last ``take(_:)``.
    enum WrittenSet: CaseIterable {
        /// Files to `fdatasync` at the next flush.
        case unsynced
        /// Files whose sizes and times the journal records next.
        case unjournaled
        /// Files whose write-behind has not been started since they were written.
        case unscheduled
    }

    /// The files written since they were last taken from `set`.
    func take(_ set: WrittenSet) -> Set<Int> {
        lock.withLock { writtenSince.removeValue(forKey: set) ?? [] }
    }

    /// Marks `files` as written for `set` alone (data another process left unsynced must be synced at the
    /// next flush).
    func mark(_ files: Set<Int>, in set: WrittenSet) {
        lock.withLock { writtenSince[set, default: []].formUnion(files) }
    }

    /// Closes every idle descriptor now and the busy ones when their users finish; later check-outs
    /// fail.
    func closeAll() {
        let closed = lock.withLock {
            isClosed = true
            let before = entries.count
            for (file, entry) in entries where entry.users == 0 {
                Glibc.close(entry.descriptor)
                entries[file] = nil
            }
            return entries.count - before
        }
        budget?.adjust(by: closed)
    }

    /// The last use of the descriptor idle longest, if any is idle (for ``OpenFileBudget``).
    func oldestIdleUse() -> UInt64? {
        lock.withLock { entries.values.filter { $0.users == 0 }.map(\.lastUse).min() }
    }

    /// Closes the idle descriptor last used at `lastUse`, if it is still idle and unused since.
    func closeIdle(lastUse: UInt64) {
        let closed = lock.withLock {
            guard let (file, entry) = entries.first(where: { $0.value.users == 0 && $0.value.lastUse == lastUse })
            else { return false }
            Glibc.close(entry.descriptor)
            entries[file] = nil
            return true
        }
        if closed { budget?.adjust(by: -1) }
    }

    /// Returns the descriptor, and how many entries this opened (negative: closed) for the budget.
    private func checkOut(
        file: Int, writable: Bool, closedError: @autoclosure () -> any Error, open: (Bool) throws -> Int32
    ) throws -> (Int32, Int) {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw closedError() }
        let before = entries.count
        let clock = Self.clock.add(1, ordering: .relaxed).newValue
        if var entry = entries[file] {
            if entry.writable || !writable {
                entry.users += 1
                entry.lastUse = clock
                entries[file] = entry
                return (entry.descriptor, 0)
            }
            if entry.users > 0 {
                // Busy read-only descriptor: use a private writable one, closed at check-in.
                return (try open(true), 0)
            }
            Glibc.close(entry.descriptor)
            entries[file] = nil
        }
        let descriptor = try open(writable)
        entries[file] = Entry(descriptor: descriptor, writable: writable, lastUse: clock, users: 1)
        evictIdle()
        return (descriptor, entries.count - before)
    }

    /// Returns how many entries this closed (as a negative count) for the budget.
    private func checkIn(file: Int, descriptor: Int32, written: Bool) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if written {
            for set in WrittenSet.allCases { writtenSince[set, default: []].insert(file) }
        }
        let before = entries.count
        guard var entry = entries[file], entry.descriptor == descriptor else {
            Glibc.close(descriptor)  // a private descriptor
            return 0
        }
        entry.users -= 1
        if entry.users == 0 && isClosed {
            Glibc.close(descriptor)
            entries[file] = nil
        } else {
            entries[file] = entry
            evictIdle()
        }
        return entries.count - before
    }

    /// Closes least recently used idle descriptors while over capacity.
    private func evictIdle() {
        while entries.count > capacity {
            var victim: (file: Int, lastUse: UInt64)?
            for (file, entry) in entries where entry.users == 0 {
                if victim == nil || entry.lastUse < victim!.lastUse { victim = (file, entry.lastUse) }
            }
            guard let victim else { return }
            Glibc.close(entries[victim.file]!.descriptor)
            entries[victim.file] = nil
        }
    }
}
