import Logging
import Testing

@testable import Engine

/// The journal's order of work against a session stand-in: a checkpoint is committed only once the
/// files are synced, a failed sync rolls the journal back to the last checkpoint and stops the
/// torrent, and nothing is written where nothing keeps progress.
@Suite(.timeLimit(.minutes(1))) struct JournalRunnerTests {
    static let layout = PieceLayout(pieceLength: 16_384, totalLength: 2 * 16_384)

    /// A session as the runner sees it: a real journal, verdicts set by the test, and a log of the
    /// batches taken and the faults.
    actor Host: JournalHost {
        var journal = ProgressJournal(pieceCount: 2)
        var turn = JournalTurn()
        var verified: Set<PieceIndex> = []
        private(set) var steps: [String] = []
        private(set) var failure: String?
        private var epoch = 0

        func verify(_ piece: PieceIndex) {
            verified.insert(piece)
            journal.unsavedPieces[piece] = true
        }

        func beginJournalInterval() -> Int {
            epoch += 1
            return epoch
        }
        func assembledPieces() -> [PieceIndex] { [] }
        func flushPlan(_ piece: PieceIndex, before epoch: Int) -> (generation: Int, runs: [PieceAssemblies.Run])? {
            nil
        }
        func flushed(_ piece: PieceIndex, generation: Int, first: Int, count: Int) -> Bool { false }
        func takeJournalBatch(torrentId: Int64, stats: [FileStat]) -> ProgressBatch? {
            steps.append("batch")
            let verified = self.verified
            return journal.takeBatch(torrentId: torrentId, masks: [:], isVerified: { verified.contains($0) })
        }
        func changeJournal<T: Sendable>(_ change: (inout ProgressJournal) -> T) -> T { change(&journal) }
        func beginJournalTurn() async {
            guard !turn.take() else { return }
            await withCheckedContinuation { turn.wait($0) }
        }
        func endJournalTurn() { turn.handOver() }
        func fail(_ reason: String) {
            steps.append("fail")
            failure = reason
        }
    }

    static func runner(_ storage: any PieceStorage, store: (any ResumeStore)?) -> JournalRunner {
        JournalRunner(
            storage: storage, store: store, torrentId: store == nil ? nil : 1, writer: ResumeWriter(),
            journalInterval: .seconds(3600), checkpointInterval: .seconds(3600), logger: Logger(label: "test"))
    }

    static func storage() async throws -> FaultyStorage {
        let fixture = SessionFixture(length: 2 * 16_384, pieceLength: 16_384)
        return FaultyStorage(try await fixture.filledStorage())
    }

    /// A runner over a store in memory and files that can fail or hold their syncs, for a host that
    /// verified `piece`.
    static func setUp(
        verified piece: PieceIndex
    ) async throws -> (FaultyStorage, MemoryResumeStore, Host, JournalRunner) {
        let storage = try await Self.storage()
        let store = MemoryResumeStore(pieceCount: 2)
        let host = Host()
        await host.verify(piece)
        return (storage, store, host, Self.runner(storage, store: store))
    }

    @Test func aCheckpointIsCommittedOnlyAfterTheFilesAreSynced() async throws {
        let (storage, store, host, runner) = try await Self.setUp(verified: PieceIndex(0))
        await runner.journal(for: host)
        #expect(store.snapshot.verified.contains(0))
        #expect(store.snapshot.durableVerified?.contains(0) != true, "journaled, not durable yet")
        storage.holdSyncs()
        let checkpoint = Task { await runner.checkpoint(for: host) }
        await storage.waitForHeldSync()
        #expect(store.snapshot.checkpointAt == nil, "no checkpoint while the sync is held")
        #expect(await host.journal.lastCheckpoint == nil)
        storage.releaseSyncs()
        await checkpoint.value
        #expect(await host.steps == ["batch"])
        #expect(store.snapshot.durableVerified?.contains(0) == true)
        #expect(await host.journal.lastCheckpoint?.verified.contains(0) == true)
        #expect(await host.failure == nil)
    }

    /// A look that wrote something says so; the next look after one that found nothing waits longer,
    /// up to ten intervals, and data flowing again brings the wait back to one interval.
    @Test func anIdleTorrentIsLookedAtLessOften() async throws {
        let (_, _, host, runner) = try await Self.setUp(verified: PieceIndex(0))
        #expect(await runner.journal(for: host), "the verified piece is recorded")
        #expect(await !runner.journal(for: host), "nothing changed since")
        let interval = Duration.seconds(3600)
        var wait = interval
        var waits: [Duration] = []
        for _ in 0..<6 {
            wait = runner.nextWait(after: wait, wrote: false)
            waits.append(wait)
        }
        #expect(waits == [2, 4, 8, 10, 10, 10].map { interval * $0 })
        #expect(runner.nextWait(after: wait, wrote: true) == interval)
    }

    @Test func aFailedSyncRollsBackToTheLastCheckpointAndStopsTheTorrent() async throws {
        let (storage, store, host, runner) = try await Self.setUp(verified: PieceIndex(1))
        await runner.save(for: host)
        #expect(store.snapshot.verified.contains(1))
        storage.failNextSync()
        await runner.checkpoint(for: host)
        #expect(await host.steps == ["batch", "fail"])
        #expect(await host.failure?.hasPrefix("cannot sync to disk") == true)
        #expect(await host.journal.durabilityLost)
        #expect(!store.snapshot.verified.contains(1), "verified since the last checkpoint: checked again at start")
        // No checkpoint is committed after a lost sync, even once syncs work again.
        await runner.checkpoint(for: host)
        #expect(store.snapshot.checkpointAt == nil)
    }

    @Test func withoutAStoreNothingIsWrittenAndTheUnsavedIsDropped() async throws {
        let storage = try await Self.storage()
        let host = Host()
        let runner = Self.runner(storage, store: nil)
        await host.verify(PieceIndex(0))
        await runner.journal(for: host)
        await runner.checkpoint(for: host)
        #expect(await host.steps.isEmpty)
        #expect(storage.flushes == 0)
        #expect(await host.journal.unsavedPieces.isEmpty)
    }
}
