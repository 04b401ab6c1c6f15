import Engine
import Foundation
import Testing

@testable import Store

/// Journal batches of several workers written in one transaction (``EnginePorts/saveProgress(together:)``):
/// each batch is written or dropped exactly as it would be alone.
@Suite(.timeLimit(.minutes(5))) struct GroupCommitTests {
    private static func metainfo(seed: UInt64) -> Metainfo {
        Fixtures.metainfo(seed: seed, fileLengths: [100_000, 63_740])
    }

    /// A store with three torrents of ten pieces each.
    private static func store() throws -> (BtqStore, [TorrentRecord]) {
        let store = try BtqStore.inMemory()
        let records = try (1...3).map { seed in
            guard case .added(let record) = try store.adder.add(Fixtures.new(Self.metainfo(seed: UInt64(seed))))
            else { throw StoreError.notFound(id: Int64(seed)) }
            return record
        }
        return (store, records)
    }

    private static func batch(_ id: Int64, pieces: [PieceIndex: Bool], detail: String) -> ProgressBatch {
        ProgressBatch(
            torrents: [
                TorrentProgress(
                    torrentId: id, pieces: pieces,
                    transferred: TransferTotals(downloaded: 16_384, uploaded: 0, wasted: 0))
            ],
            events: [HistoryEvent(torrentId: id, kind: .state, detail: detail)])
    }

    private static func details(_ store: BtqStore, _ id: Int64) throws -> [String] {
        try store.queries.events(torrentId: id).filter { $0.kind == "state" }.compactMap(\.detail)
    }

    @Test func aBadBatchIsDroppedAloneAndTheOthersAreWritten() throws {
        let (store, records) = try Self.store()
        let ports = records.map { store.ports.pinned(to: $0) }
        let outcomes = try ports[0].saveProgress(together: [
            (ports[0], Self.batch(records[0].id, pieces: [0: true], detail: "first")),
            // Piece 10 of ten: invalid, after a valid piece 0 that must be rolled back with it.
            (ports[1], Self.batch(records[1].id, pieces: [0: true, 10: true], detail: "bad")),
            (ports[2], Self.batch(records[2].id, pieces: [3: true], detail: "third")),
            (ports[0], Self.batch(records[0].id, pieces: [1: true], detail: "first again")),
        ])
        #expect(outcomes.count == 4)
        #expect(outcomes[0] == nil && outcomes[2] == nil && outcomes[3] == nil)
        #expect((outcomes[1] as? StoreError)?.code == .invalidValue)

        let first = try #require(try store.progress.resumeState(torrentId: records[0].id))
        #expect(first.verified.description == "1100000000")
        #expect(first.totals.downloaded == 2 * 16_384)
        #expect(try Self.details(store, records[0].id) == ["first", "first again"])
        let bad = try #require(try store.progress.resumeState(torrentId: records[1].id))
        #expect(bad.verified.isNone && bad.totals.downloaded == 0)
        #expect(try Self.details(store, records[1].id).isEmpty)
        #expect(try store.progress.resumeState(torrentId: records[2].id)?.verified.description == "0001000000")
        #expect(try Self.details(store, records[2].id) == ["third"])
    }

    @Test func eachBatchKeepsItsOwnWorkersPin() throws {
        let (store, records) = try Self.store()
        let old = store.ports.pinned(to: records[0])
        try store.queue.remove(torrentId: records[0].id, purge: false)
        guard case .added(let again) = try store.adder.add(Fixtures.new(Self.metainfo(seed: 1))) else {
            Issue.record("not added again")
            return
        }
        #expect(again.id == records[0].id)
        let current = store.ports.pinned(to: records[1])
        let outcomes = try current.saveProgress(together: [
            (old, Self.batch(records[0].id, pieces: [0: true], detail: "from the old worker")),
            (current, Self.batch(records[1].id, pieces: [2: true], detail: "current")),
        ])
        #expect(outcomes.allSatisfy { $0 == nil })
        // The old worker's batch was dropped silently, as it is alone (``PinTests``).
        #expect(try store.progress.resumeState(torrentId: again.id)?.verified.isNone == true)
        #expect(try Self.details(store, again.id).isEmpty)
        #expect(try store.progress.resumeState(torrentId: records[1].id)?.verified.description == "0010000000")
    }

    @Test func onlyPortsOverTheSameDatabaseShareAGroup() throws {
        let (store, records) = try Self.store()
        let (other, otherRecords) = try Self.store()
        #expect(store.ports.commitGroup == store.ports.pinned(to: records[0]).commitGroup)
        #expect(store.ports.commitGroup != other.ports.commitGroup)
        // Handed a batch of another database all the same, each goes to its own.
        let outcomes = try store.ports.saveProgress(together: [
            (store.ports, Self.batch(records[0].id, pieces: [0: true], detail: "here")),
            (other.ports, Self.batch(otherRecords[0].id, pieces: [9: true], detail: "there")),
        ])
        #expect(outcomes.allSatisfy { $0 == nil })
        #expect(try store.progress.resumeState(torrentId: records[0].id)?.verified.description == "1000000000")
        #expect(try other.progress.resumeState(torrentId: otherRecords[0].id)?.verified.description == "0000000001")
        #expect(try Self.details(other, otherRecords[0].id) == ["there"])
    }

    @Test func statesOfSeveralTorrentsInOneWriteSkipTheRemoved() throws {
        let (store, records) = try Self.store()
        try store.queue.setState(torrentId: records[2].id, .paused, error: "stopped by hand")
        try store.queue.remove(torrentId: records[1].id, purge: false)
        try store.ports.setStates([
            (records[0].id, .downloading), (records[1].id, .downloading), (records[2].id, .seeding), (99, .seeding),
        ])
        let first = try #require(try store.queries.torrent(id: records[0].id))
        #expect(first.state == .downloading && first.startedAt != nil)
        #expect(try store.queries.torrent(id: records[1].id)?.isRemoved == true)
        let third = try #require(try store.queries.torrent(id: records[2].id))
        #expect(third.state == .seeding && third.lastError == nil && third.completedAt != nil)
        #expect(try store.queries.events(torrentId: records[0].id).map(\.kind) == ["added", "started"])
        #expect(try store.queries.events(torrentId: records[2].id).map(\.kind) == ["added", "paused", "resumed"])
    }
}
