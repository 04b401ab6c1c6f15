import TestSupport
import Testing

@testable import Engine

/// What a session keeps to save its progress: its journal intervals and the turn that lets one save
/// of the journal run at a time, handed to waiters in the order they came.
@Suite(.timeLimit(.minutes(1)))
struct SessionPersistenceTests {
    /// Takes and hands over a ``JournalTurn`` the way ``TorrentSession`` does, logging who held it.
    actor Saves {
        var turn = JournalTurn()
        var log: [String] = []

        func begin() async {
            guard !turn.take() else { return }
            await withCheckedContinuation { turn.wait($0) }
        }
        func end() { turn.handOver() }
        func save(_ name: String) async {
            await begin()
            log.append(name)
        }
        var waiting: Int { turn.waiting }
        var busy: Bool { turn.busy }
    }

    @Test func keepsProgressOnlyWithAStoreAndAnId() {
        let none = SessionPersistence(
            store: nil, torrentId: 1, pieceCount: 4, policy: .cleanHistory, writer: .shared)
        let kept = SessionPersistence(
            store: MemoryResumeStore(pieceCount: 4), torrentId: 1, pieceCount: 4, policy: .cleanHistory, writer: .shared
        )
        let noId = SessionPersistence(
            store: MemoryResumeStore(pieceCount: 4), torrentId: nil, pieceCount: 4, policy: .cleanHistory,
            writer: .shared)
        #expect(!none.keepsProgress && kept.keepsProgress && !noId.keepsProgress)
        #expect(kept.journal.journaledVerified.count == 4)
    }

    @Test func journalIntervalsCountUp() {
        var persistence = SessionPersistence(
            store: nil, torrentId: nil, pieceCount: 1, policy: .cleanHistory, writer: .shared)
        #expect(persistence.epoch == 0)
        #expect(persistence.nextEpoch() == 1)
        #expect(persistence.nextEpoch() == 2)
        #expect(persistence.epoch == 2)
    }

    @Test func theTurnGoesToWaitersInOrderThenIsFree() async throws {
        let saves = Saves()
        await saves.begin()
        #expect(await saves.busy)
        let first = Task { await saves.save("first") }
        #expect(try await poll(timeout: .seconds(10)) { await saves.waiting == 1 })
        let second = Task { await saves.save("second") }
        #expect(try await poll(timeout: .seconds(10)) { await saves.waiting == 2 })
        #expect(await saves.log.isEmpty)
        await saves.end()
        await first.value
        #expect(await saves.log == ["first"])
        // The first holds the turn now: the second still waits.
        #expect(await saves.busy)
        #expect(await saves.waiting == 1)
        await saves.end()
        await second.value
        #expect(await saves.log == ["first", "second"])
        await saves.end()
        #expect(await !saves.busy)
    }
}
