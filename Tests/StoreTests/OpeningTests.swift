import Engine
import Foundation
import GRDB
import Synchronization
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct OpeningTests {
    @Test func fileDatabaseIsWALWithForeignKeysAndABusyTimeout() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nested/deeper/btq.sqlite")
        let store = try BtqStore(path: path)
        #expect(FileManager.default.fileExists(atPath: path))
        let writerPragmas = try store.writer.write { db in
            [
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try String.fetchOne(db, sql: "PRAGMA foreign_keys"),
                try String.fetchOne(db, sql: "PRAGMA busy_timeout"),
            ]
        }
        #expect(writerPragmas == ["wal", "1", "5000"])
        let readerForeignKeys = try store.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(readerForeignKeys == 1)
    }

    @Test func reopensWithItsData() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            let store = try BtqStore(path: path)
            _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1)))
            _ = try store.adder.add(NewTorrent(source: .magnet(Fixtures.magnet(seed: 2)), saveDirectory: "/d"))
        }
        let reopened = try BtqStore(path: path)
        #expect(try reopened.queries.torrents().map(\.name) == ["torrent-1", "magnet 0"])
        #expect(try reopened.queries.files(torrentId: 1).count == 2)
    }

    /// Reading a database nobody has open (every `btq list`, `info` or `history` does) writes nothing to
    /// it: the WAL file outlives the last connection, so opening does not recreate it with a write.
    @Test func readingAnIdleDatabaseWritesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            let store = try BtqStore(path: path)
            _ = try store.adder.add(contentsOf: (1...5).map { Fixtures.new(Fixtures.metainfo(seed: UInt64($0))) })
        }
        func files() -> [Data?] { [path, path + "-wal"].map { FileManager.default.contents(atPath: $0) } }
        let closed = files()
        #expect(closed.allSatisfy { $0 != nil })
        do {
            let store = try BtqStore(path: path)
            #expect(try store.listing.queueLines().count == 5)
            #expect(try store.queries.torrents().count == 5)
        }
        #expect(files() == closed)
    }

    @Test func aSecondConnectionReadsWhileAnotherWrites() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        let daemon = try BtqStore(path: path)
        let cli = try BtqStore(path: path)
        let seenDuringWrite = try daemon.writer.write { db in
            _ = try TorrentAdder.add(Fixtures.new(Fixtures.metainfo(seed: 1)), at: 0, db)
            // The writer's transaction is open: the other connection reads the last committed state, unblocked.
            return try cli.queries.torrents().count
        }
        #expect(seenDuringWrite == 0)
        #expect(try cli.queries.torrents().count == 1)
    }

    /// Several openers of a new database at once (here: eight connections on eight threads, released
    /// together), then of the existing one, all end up with it migrated: none fails on a migration another
    /// one applied first, nor on the lock taken to switch a new database to WAL mode (SQLite does not wait
    /// for that one). Fifty rounds. Processes do the same in `BtqTests.ConcurrentOpeningTests`.
    @Test func openingANewDatabaseAtOnceFromSeveralPlaces() throws {
        for _ in 0..<50 {
            let directory = try TemporaryDirectory()
            let path = directory.file("btq.sqlite")
            for _ in 0..<2 {
                let outcomes = Self.atOnce(8) { Result { try BtqStore(path: path).appliedMigrations() } }
                for outcome in outcomes {
                    #expect(try outcome.get() == BtqStore.migrationNames)
                }
            }
        }
    }

    /// Runs `body` on `count` threads of their own, released together; its results in thread order.
    static func atOnce<T: Sendable>(_ count: Int, _ body: @escaping @Sendable () -> T) -> [T] {
        let results = Collected<T>()
        let ready = DispatchGroup()
        let done = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for index in 0..<count {
            ready.enter()
            done.enter()
            Thread.detachNewThread {
                ready.leave()
                start.wait()
                let result = body()
                results.values.withLock { $0[index] = result }
                done.leave()
            }
        }
        ready.wait()
        for _ in 0..<count { start.signal() }
        done.wait()
        return results.values.withLock { all in (0..<count).map { all[$0]! } }
    }

    @Test func aSecondWriterWaitsForTheFirst() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        let daemon = try BtqStore(path: path)
        let cli = try BtqStore(path: path)
        // The second writer's add starts while the first holds its transaction open, and must end after
        // that transaction commits: it waited for the lock instead of failing or writing beside it.
        let attempting = DispatchSemaphore(value: 0)
        let (second, firstEnded) = try await daemon.writer.write { db in
            _ = try TorrentAdder.add(Fixtures.new(Fixtures.metainfo(seed: 1)), at: 0, db)
            let task = Task.detached {
                attempting.signal()
                let outcome = try cli.adder.add(Fixtures.new(Fixtures.metainfo(seed: 2)))
                return (outcome, ContinuousClock.now)
            }
            attempting.wait()
            // Holding the lock a while gives the other add time to reach it (not a synchronization: the
            // order checked below holds however long this is).
            Thread.sleep(forTimeInterval: 0.2)
            return (task, ContinuousClock.now)
        }
        let (outcome, secondEnded) = try await second.value
        #expect(!outcome.isDuplicate)
        #expect(secondEnded > firstEnded, "the second add finished only after the first transaction")
        #expect(try cli.queries.torrents().map(\.queuePosition) == [0, 1])
    }
}

/// Results gathered from several threads.
private final class Collected<T: Sendable>: Sendable {
    let values = Mutex<[Int: T]>([:])
}
