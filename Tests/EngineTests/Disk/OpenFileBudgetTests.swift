import Foundation
import Glibc
import Testing

@testable import Engine

/// The process-wide bound on idle open files: over several torrents' descriptor caches, the one used
/// least recently is closed past the limit, never one in use, and a closed file opens again on use.
@Suite(.timeLimit(.minutes(5))) struct OpenFileBudgetTests {
    struct Closed: Error {}

    /// Files in a temporary folder, and how many times each was opened.
    final class Files: @unchecked Sendable {
        let folder: String
        private let lock = NSLock()
        private var opens: [String: Int] = [:]

        init(count: Int) throws {
            folder = NSTemporaryDirectory() + "btq-budget-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for index in 0..<count {
                _ = FileManager.default.createFile(atPath: path(index), contents: Data([UInt8(index)]))
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }

        func path(_ index: Int) -> String { "\(folder)/f\(index)" }

        func opener(_ index: Int) -> (Bool) throws -> Int32 {
            { writable in
                self.lock.withLock { self.opens[self.path(index), default: 0] += 1 }
                let descriptor = Glibc.open(self.path(index), writable ? O_RDWR : O_RDONLY)
                guard descriptor >= 0 else { throw Closed() }
                return descriptor
            }
        }

        func openCount(_ index: Int) -> Int { lock.withLock { opens[path(index)] ?? 0 } }
    }

    /// Reads the one byte of file `index` through `cache`.
    func read(_ cache: FileDescriptorCache, _ files: Files, _ index: Int) throws -> UInt8 {
        try cache.withDescriptor(file: index, writable: false, closedError: Closed(), open: files.opener(index)) {
            var byte: UInt8 = 0
            _ = pread($0, &byte, 1, 0)
            return byte
        }
    }

    @Test func theLeastRecentlyUsedIdleFileOfAnyTorrentIsClosed() throws {
        let files = try Files(count: 4)
        let budget = OpenFileBudget(limit: 2)
        let first = FileDescriptorCache(capacity: 64, budget: budget)
        let second = FileDescriptorCache(capacity: 64, budget: budget)
        #expect(try read(first, files, 0) == 0)
        #expect(try read(second, files, 1) == 1)
        #expect(budget.openCount == 2 && first.openCount == 1 && second.openCount == 1)
        // A third file: the oldest (the first torrent's) is closed, whatever torrent needs the new one.
        #expect(try read(second, files, 2) == 2)
        #expect(budget.openCount == 2 && first.openCount == 0 && second.openCount == 2)
        // Used again, it is opened again, and now the second torrent's file 1 is the oldest.
        #expect(try read(first, files, 0) == 0)
        #expect(files.openCount(0) == 2)
        #expect(budget.openCount == 2 && first.openCount == 1 && second.openCount == 1)
        #expect(try read(second, files, 2) == 2)
        #expect(files.openCount(2) == 1, "a file still open is not opened again")
    }

    @Test func aFileInUseIsNeverClosedAndTheCountComesBackWithin() throws {
        let files = try Files(count: 3)
        let budget = OpenFileBudget(limit: 1)
        let first = FileDescriptorCache(capacity: 64, budget: budget)
        let second = FileDescriptorCache(capacity: 64, budget: budget)
        let byte = try first.withDescriptor(file: 0, writable: false, closedError: Closed(), open: files.opener(0)) {
            outer in
            // File 0 in use: another torrent's idle file is what gets closed.
            _ = try read(second, files, 1)
            #expect(budget.openCount == 1 && first.openCount == 1 && second.openCount == 0)
            // Two files in use at once: the count passes the limit, and neither is closed.
            return try second.withDescriptor(file: 2, writable: false, closedError: Closed(), open: files.opener(2)) {
                inner in
                #expect(budget.openCount == 2)
                #expect(fcntl(outer, F_GETFD) >= 0 && fcntl(inner, F_GETFD) >= 0, "descriptors in use stay open")
                var byte: UInt8 = 0
                _ = pread(inner, &byte, 1, 0)
                return byte
            }
        }
        #expect(byte == 2)
        // Once they are idle the count is back within the limit: the file that went idle first, while
        // the count was over it, was closed.
        #expect(budget.openCount == 1 && first.openCount == 1 && second.openCount == 0)
    }

    /// Past a larger limit the budget closes down to its low mark (an eighth under the limit), the
    /// least recently used first, so that one scan of every storage serves many opens.
    @Test func pastTheLimitTheOldestAreClosedDownToTheLowMark() throws {
        let files = try Files(count: 17)
        let budget = OpenFileBudget(limit: 16)
        let caches = (0..<17).map { _ in FileDescriptorCache(capacity: 4, budget: budget) }
        for index in 0..<16 { _ = try read(caches[index], files, index) }
        #expect(budget.openCount == 16)
        _ = try read(caches[16], files, 16)
        #expect(budget.openCount == 14)
        #expect(caches[0..<3].allSatisfy { $0.openCount == 0 }, "the three used least recently are closed")
        #expect(caches[3...].allSatisfy { $0.openCount == 1 })
    }

    @Test func aStorageThatIsGoneGivesBackItsFiles() throws {
        let files = try Files(count: 2)
        let budget = OpenFileBudget(limit: 8)
        var cache: FileDescriptorCache? = FileDescriptorCache(capacity: 64, budget: budget)
        _ = try read(cache!, files, 0)
        _ = try read(cache!, files, 1)
        #expect(budget.openCount == 2)
        cache?.closeAll()
        #expect(budget.openCount == 0)
        cache = FileDescriptorCache(capacity: 64, budget: budget)
        _ = try read(cache!, files, 0)
        cache = nil
        #expect(budget.openCount == 0)
    }
}
