import Dispatch
import Synchronization
import Testing

@testable import Engine

/// The writer's group commit: batches waiting next to each other for the same database go to it in one
/// call, in order, each with its own outcome; any other write, or a batch of another database, ends the
/// group, so everything still reaches the stores in the order it was handed over.
@Suite(.timeLimit(.minutes(5))) struct ResumeWriterTests {
    /// The order in which writes reached the stores, as labels.
    final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func append(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    struct Refused: Error {}

    /// A store that logs each call with the labels (the events' details) of the batches it was given, and
    /// refuses a batch labelled `bad`, as a store refuses an invalid value.
    struct LoggingStore: ResumeStore {
        let name: String
        let group: ObjectIdentifier
        let log: Log

        var commitGroup: ObjectIdentifier? { group }

        func saveProgress(_ batch: ProgressBatch) throws {
            log.append("\(name) alone: \(Self.label(batch))")
            if Self.label(batch) == "bad" { throw Refused() }
        }

        func saveProgress(together saves: [(store: any ResumeStore, batch: ProgressBatch)]) throws -> [(any Error)?] {
            log.append("\(name) together: " + saves.map { Self.label($0.batch) }.joined(separator: " "))
            return saves.map { Self.label($0.batch) == "bad" ? Refused() : nil }
        }

        static func label(_ batch: ProgressBatch) -> String { batch.events.compactMap(\.detail).joined() }

        func resumeState(torrentId: Int64) throws -> ResumeState? { nil }
        func commitCheckpoint(_ checkpoints: [DurableCheckpoint], at time: Timestamp) throws {}
        func recordFileStats(torrentId: Int64, _ stats: [FileStat]) throws {}
        func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws {}
        func recordEvents(_ events: [HistoryEvent]) throws {}
        func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo) throws {}
    }

    /// Two databases, as two objects that name them.
    final class Database: Sendable {}

    /// Holds the writer's thread in a write until `release()`, so that what is handed over meanwhile waits.
    final class Gate: Sendable {
        private let open = DispatchSemaphore(value: 0)

        /// Hands the writer a write that blocks its thread; returns once the thread runs it.
        static func hold(_ writer: ResumeWriter) async -> (Gate, Task<Void, any Error>) {
            let gate = Gate()
            let (running, signal) = AsyncStream.makeStream(of: Void.self)
            let task = Task {
                try await writer.perform {
                    signal.yield()
                    gate.open.wait()
                }
            }
            for await _ in running { break }
            return (gate, task)
        }

        func release() { open.signal() }
    }

    /// Hands `batch` over and returns once it waits in the writer's queue (behind everything before it).
    private static func handOver(
        _ label: String, to store: LoggingStore, _ writer: ResumeWriter
    ) async -> Task<Void, any Error> {
        let before = writer.waitingCount
        let task = Task {
            try await writer.save(
                ProgressBatch(events: [HistoryEvent(torrentId: 1, kind: .state, detail: label)]), to: store)
        }
        while writer.waitingCount == before { await Task.yield() }
        return task
    }

    @Test func neighboursShareACallAndAnyOtherWriteEndsTheGroup() async throws {
        let writer = ResumeWriter()
        let log = Log()
        let first = Database()
        let second = Database()
        let here = LoggingStore(name: "A", group: ObjectIdentifier(first), log: log)
        let alsoHere = LoggingStore(name: "A'", group: ObjectIdentifier(first), log: log)
        let there = LoggingStore(name: "B", group: ObjectIdentifier(second), log: log)

        let (gate, held) = await Gate.hold(writer)
        var tasks: [(String, Task<Void, any Error>)] = []
        for (label, store) in [("a1", here), ("bad", alsoHere), ("a3", here)] {
            tasks.append((label, await Self.handOver(label, to: store, writer)))
        }
        let before = writer.waitingCount
        let other = Task { try await writer.perform { log.append("other write") } }
        while writer.waitingCount == before { await Task.yield() }
        for (label, store) in [("b1", here), ("b2", alsoHere), ("c1", there), ("b3", here)] {
            tasks.append((label, await Self.handOver(label, to: store, writer)))
        }
        gate.release()
        try await held.value
        try await other.value
        for (label, task) in tasks {
            let result = await task.result
            if label == "bad" {
                #expect(throws: Refused.self) { try result.get() }
            } else {
                #expect(throws: Never.self) { try result.get() }
            }
        }
        #expect(
            log.all == [
                "A together: a1 bad a3", "other write", "A together: b1 b2", "B alone: c1", "A alone: b3",
            ])
    }

    @Test func aGroupHoldsAtMostTheLimit() async throws {
        let writer = ResumeWriter()
        let log = Log()
        let database = Database()
        let store = LoggingStore(name: "A", group: ObjectIdentifier(database), log: log)
        let (gate, held) = await Gate.hold(writer)
        let count = ResumeWriter.groupLimit + 6
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<count { tasks.append(await Self.handOver("\(index)", to: store, writer)) }
        gate.release()
        try await held.value
        for task in tasks { try await task.value }
        let labels = (0..<count).map(String.init)
        #expect(
            log.all == [
                "A together: " + labels.prefix(ResumeWriter.groupLimit).joined(separator: " "),
                "A together: " + labels.dropFirst(ResumeWriter.groupLimit).joined(separator: " "),
            ])
    }

    @Test func storesWithoutAGroupWriteEachBatchAlone() async throws {
        let writer = ResumeWriter()
        let store = MemoryResumeStore(pieceCount: 4)
        #expect(store.commitGroup == nil)
        let (gate, held) = await Gate.hold(writer)
        let before = writer.waitingCount
        let tasks = (0..<3).map { index in
            Task {
                try await writer.save(
                    ProgressBatch(events: [HistoryEvent(torrentId: 1, kind: .state, detail: "\(index)")]), to: store)
            }
        }
        while writer.waitingCount < before + 3 { await Task.yield() }
        gate.release()
        try await held.value
        for task in tasks { try await task.value }
        #expect(store.events.count == 3)
    }
}
