import Engine
import Foundation
import Testing

@testable import Store

/// A worker's store is pinned to the row it started on: once the torrent is removed and added again,
/// nothing the old worker still writes (its last batch, checkpoint, state, metadata) lands in the new row.
@Suite(.timeLimit(.minutes(5))) struct PinTests {
    private static let metainfo = Fixtures.metainfo(seed: 7, fileLengths: [100_000, 63_740])

    private static func store() throws -> (BtqStore, TorrentRecord) {
        let store = try BtqStore.inMemory()
        guard case .added(let record) = try store.adder.add(Fixtures.new(metainfo)) else {
            throw StoreError.notFound(id: 1)
        }
        return (store, record)
    }

    private static func progress(_ id: Int64) -> ProgressBatch {
        ProgressBatch(
            torrents: [
                TorrentProgress(
                    torrentId: id, pieces: [0: true, 1: true], blockMasks: [2: Bitfield(pattern: "1100")!],
                    transferred: TransferTotals(downloaded: 40_000, uploaded: 0, wasted: 0),
                    fileStats: [FileStat(index: FileIndex(0), size: 1, modificationTimeNanoseconds: 1)])
            ],
            events: [HistoryEvent(torrentId: id, kind: .state, detail: "from the old worker")])
    }

    @Test func aPinnedStoreWritesWhileItsRowIsTheSame() throws {
        let (store, record) = try Self.store()
        let pinned = store.ports.pinned(to: record)
        try pinned.saveProgress(Self.progress(record.id))
        try pinned.setState(torrentId: record.id, .downloading, error: nil)
        let state = try #require(try store.progress.resumeState(torrentId: record.id))
        #expect(state.verified.description == "1100000000")
        #expect(try store.queries.torrent(id: record.id)?.state == .downloading)
    }

    @Test func theOldWorkerWritesNothingIntoTheRowAddedAgain() throws {
        let (store, record) = try Self.store()
        let old = store.ports.pinned(to: record)
        try old.setState(torrentId: record.id, .downloading, error: nil)
        // Removed and added again at once, within the same millisecond if the machine is fast.
        try store.queue.remove(torrentId: record.id, purge: false)
        guard case .added(let again) = try store.adder.add(Fixtures.new(Self.metainfo)) else {
            Issue.record("not added again")
            return
        }
        #expect(again.id == record.id && again.addedAt > record.addedAt)
        let events = try store.queries.events(torrentId: record.id).count

        try old.saveProgress(Self.progress(record.id))
        try old.commitCheckpoint(
            [DurableCheckpoint(torrentId: record.id, verified: Bitfield(pattern: "1100000000")!, blockMasks: [:])],
            at: Timestamp(rawValue: 42))
        try old.recordFileStats(
            torrentId: record.id, [FileStat(index: FileIndex(1), size: 5, modificationTimeNanoseconds: 5)])
        try old.setState(torrentId: record.id, .error, error: "the old worker failed")
        try old.recordEvents([HistoryEvent(torrentId: record.id, kind: .stalled, detail: nil)])

        let state = try #require(try store.progress.resumeState(torrentId: record.id))
        #expect(state.verified.isNone && state.blockMasks.isEmpty && state.files.isEmpty)
        #expect(state.durableVerified == nil && state.checkpointAt == nil)
        let row = try #require(try store.queries.torrent(id: record.id))
        #expect(row.state == .queued && row.lastError == nil && row.piecesDone == 0)
        #expect(try store.queries.events(torrentId: record.id).count == events)

        // The new torrent's own worker, pinned to the new row, writes as usual.
        try store.ports.pinned(to: again).saveProgress(Self.progress(record.id))
        #expect(try store.progress.resumeState(torrentId: record.id)?.verified.description == "1100000000")
    }
}

/// What the queue manager reads of every worked torrent at each pass, in one read.
@Suite(.timeLimit(.minutes(5))) struct WorkedFiguresTests {
    @Test func limitsAndSeedingTimeOfEachExistingTorrent() throws {
        let store = try BtqStore.inMemory()
        let ids = try (1...3).map { seed in
            guard case .added(let record) = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: UInt64(seed))))
            else { throw StoreError.notFound(id: Int64(seed)) }
            return record.id
        }
        try store.limits.setRateLimits(torrentId: ids[0], TorrentRateLimits(download: 1_000, upload: nil))
        try store.limits.addSeedingSeconds(torrentId: ids[1], 42)
        let figures = try store.ports.workedFigures(torrentIds: ids + [999])
        #expect(figures.count == 3)
        #expect(figures[ids[0]] == WorkedTorrentFigures(limits: TorrentRateLimits(download: 1_000), seedingSeconds: 0))
        #expect(figures[ids[1]] == WorkedTorrentFigures(limits: TorrentRateLimits(), seedingSeconds: 42))
        for id in ids {
            #expect(figures[id]?.limits == (try store.limits.rateLimits(torrentId: id)))
            #expect(figures[id]?.seedingSeconds == (try store.limits.seedingSeconds(torrentId: id)))
        }
        #expect(try store.ports.workedFigures(torrentIds: []).isEmpty)
    }
}
