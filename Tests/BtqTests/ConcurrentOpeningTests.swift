import Foundation
import Store
import Synchronization
import Testing

/// Several btq processes and threads opening one database at once (a script running `btq add` in
/// parallel, `btq run` started beside `btq add` on first use): every one of them succeeds.
@Suite(.timeLimit(.minutes(5))) struct ConcurrentOpeningTests {
    /// Fifty rounds, each on a new database, of eight openers released together: two `btq add` and two
    /// `btq list` processes, and four threads of this process opening the store.
    @Test func processesAndThreadsOpenANewDatabaseAtOnce() throws {
        let maker = try BtqProcess()
        defer { maker.cleanUp() }
        let torrents = try ["one", "two"].map { try QueueCommandTests.makeTorrent(maker, name: $0) }
        for round in 0..<50 {
            let btq = try BtqProcess()
            defer { btq.cleanUp() }
            let database = btq.database
            let openers: [Opener] = [
                .process(["add", torrents[0]]), .process(["list"]), .thread, .thread,
                .process(["add", torrents[1]]), .process(["list"]), .thread, .thread,
            ]
            let outcomes = Self.atOnce(openers.count) { index -> String? in
                switch openers[index] {
                case .thread:
                    do {
                        let applied = try BtqStore(path: database).appliedMigrations()
                        return applied == BtqStore.migrationNames ? nil : "migrations \(applied)"
                    } catch {
                        return "\(error)"
                    }
                case .process(let arguments):
                    do {
                        let result = try btq.run(arguments)
                        return result.status == 0 ? nil : "btq \(arguments[0]): \(result.status) \(result.stderr)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            let failures = outcomes.compactMap { $0 }
            #expect(failures.isEmpty, "round \(round): \(failures)")
            if !failures.isEmpty { return }
            #expect(try BtqStore(path: database).queries.torrents().map(\.name).sorted() == ["one", "two"])
        }
    }

    enum Opener: Sendable {
        case process([String])
        case thread
    }

    /// Runs `body(index)` on `count` threads of their own, released together; its results by index.
    static func atOnce<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
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
                let result = body(index)
                results.values.withLock { $0[index] = result }
                done.leave()
            }
        }
        ready.wait()
        for _ in 0..<count { start.signal() }
        done.wait()
        return results.values.withLock { all in (0..<count).map { all[$0]! } }
    }
}

/// Results gathered from several threads.
private final class Collected<T: Sendable>: Sendable {
    let values = Mutex<[Int: T]>([:])
}
