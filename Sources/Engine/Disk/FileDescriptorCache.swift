import Foundation
import Glibc

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
    private var clock: UInt64 = 0
    private var isClosed = false

    /// The number of descriptors kept open when idle.
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
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
        let descriptor = try checkOut(file: file, writable: writable, closedError: closedError(), open: open)
        defer { checkIn(file: file, descriptor: descriptor, written: writable) }
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
        lock.withLock {
            isClosed = true
            for (file, entry) in entries where entry.users == 0 {
                Glibc.close(entry.descriptor)
                entries[file] = nil
            }
        }
    }

    private func checkOut(
        file: Int, writable: Bool, closedError: @autoclosure () -> any Error, open: (Bool) throws -> Int32
    ) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw closedError() }
        clock += 1
        if var entry = entries[file] {
            if entry.writable || !writable {
                entry.users += 1
                entry.lastUse = clock
                entries[file] = entry
                return entry.descriptor
            }
            if entry.users > 0 {
                // Busy read-only descriptor: use a private writable one, closed at check-in.
                return try open(true)
            }
            Glibc.close(entry.descriptor)
            entries[file] = nil
        }
        let descriptor = try open(writable)
        entries[file] = Entry(descriptor: descriptor, writable: writable, lastUse: clock, users: 1)
        evictIdle()
        return descriptor
    }

    private func checkIn(file: Int, descriptor: Int32, written: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if written {
            for set in WrittenSet.allCases { writtenSince[set, default: []].insert(file) }
        }
        guard var entry = entries[file], entry.descriptor == descriptor else {
            Glibc.close(descriptor)  // a private descriptor
            return
        }
        entry.users -= 1
        if entry.users == 0 && isClosed {
            Glibc.close(descriptor)
            entries[file] = nil
        } else {
            entries[file] = entry
            evictIdle()
        }
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
