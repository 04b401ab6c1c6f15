import Dispatch
import Foundation
import Glibc
import Testing

@testable import Engine

/// What a ``FileStorage`` flush vouches for when writes race it or a sync fails (DESIGN.md, persistence
/// invariant 3). Faults are injected below the storage (``FileStorageFaults``): a write held between
/// taking its file and writing its bytes, a sync that fails once as Linux reports a write-back error once.
@Suite(.timeLimit(.minutes(5))) struct DurableSyncTests {
    /// The files each sync was asked for, and the syncs to fail.
    final class SyncLog: @unchecked Sendable {
        // Invariant for @unchecked Sendable: every mutable property is accessed only with `lock` held.
        private let lock = NSLock()
        private var files: [Int] = []
        private var failures = 0
        private var holds = 0

        var synced: [Int] { lock.withLock { files } }
        func failNext() { lock.withLock { failures += 1 } }
        func holdNextWrite() { lock.withLock { holds += 1 } }
        func takeHold() -> Bool {
            lock.withLock {
                guard holds > 0 else { return false }
                holds -= 1
                return true
            }
        }

        /// Records a sync of `file`, and fails it (`EIO`) or does it.
        func sync(_ file: FileIndex, _ descriptor: Int32) -> Int32 {
            let fail = lock.withLock {
                files.append(file.value)
                guard failures > 0 else { return false }
                failures -= 1
                return true
            }
            if fail { return EIO }
            return fdatasync(descriptor) == 0 ? 0 : errno
        }
    }

    static let layout = PieceLayout(pieceLength: 32_768, totalLength: 65_536)
    static let bytes = (0..<32_768).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

    static func storage(
        in folder: String, log: SyncLog, pool: any BlockingExecutor,
        gate: (DispatchSemaphore, DispatchSemaphore) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
    )
        -> FileStorage
    {
        let (holding, release) = gate
        let faults = FileStorageFaults(
            beforeWrite: { _ in
                guard log.takeHold() else { return nil }
                holding.signal()
                release.wait()
                return nil
            },
            sync: { log.sync($0, $1) })
        return FileStorage(
            saveFolder: folder, files: makeFiles([("a.bin", 65_536)]), layout: layout, executor: pool, faults: faults)
    }

    @Test func aWriteUnderWayWhenASyncStartsIsLeftForTheNextSync() async throws {
        try await withTemporaryFolder { folder in
            try await withBlockingPool(threads: 2) { (pool: NIOBlockingExecutor) async throws in
                let log = SyncLog()
                let holding = DispatchSemaphore(value: 0)
                let release = DispatchSemaphore(value: 0)
                let storage = Self.storage(in: folder, log: log, pool: pool, gate: (holding, release))
                try await storage.prepare()
                log.holdNextWrite()
                async let write: Void = storage.write(piece: 1, begin: 0, bytes: Self.bytes)
                // The write has its file and has not written yet when a checkpoint's sync starts.
                await NIOBlockingExecutorTests.wait(holding)
                try await storage.flush()
                // It cannot vouch for that write, so it does not take the file from the next sync.
                #expect(log.synced == [])
                release.signal()
                try await write
                try await storage.flush()
                #expect(log.synced == [0])
                #expect(try await storage.read(piece: 1, begin: 0, length: 32_768) == Self.bytes)
                await storage.close()
            }
        }
    }

    @Test func aFailedSyncFailsEveryLaterFlush() async throws {
        try await withTemporaryFolder { folder in
            try await withBlockingPool(threads: 2) { (pool: NIOBlockingExecutor) async throws in
                let log = SyncLog()
                let storage = Self.storage(in: folder, log: log, pool: pool)
                try await storage.prepare()
                try await storage.write(piece: 0, begin: 0, bytes: Self.bytes)
                log.failNext()
                let failure = await #expect(throws: StorageError.self) { try await storage.flush() }
                #expect(failure?.operation == .sync)
                #expect(failure?.errno == EIO)
                #expect(failure?.path.hasSuffix("/a.bin") == true)
                // The device would now report success: the data is still not known to be on disk.
                await #expect(throws: StorageError.self) { try await storage.flush() }
                try await storage.write(piece: 1, begin: 0, bytes: Self.bytes)
                await #expect(throws: StorageError.self) { try await storage.flush() }
                #expect(log.synced == [0])
                await storage.close()
            }
        }
    }

    @Test func filesAnEarlierRunLeftUnsyncedAreSyncedByTheFirstFlush() async throws {
        try await withTemporaryFolder { folder in
            try await withBlockingPool(threads: 2) { (pool: NIOBlockingExecutor) async throws in
                let log = SyncLog()
                let storage = Self.storage(in: folder, log: log, pool: pool)
                try await storage.prepare()
                try await storage.flush()
                #expect(log.synced == [])
                await storage.requireSync(of: [PieceIndex(1)])
                try await storage.flush()
                #expect(log.synced == [0])
                await storage.close()
            }
        }
    }
}
