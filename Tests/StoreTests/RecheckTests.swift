import Engine
import Foundation
import Testing

@testable import Store

/// What a full recheck records: a complete torrent becomes a seed, and the state it had before the check
/// can be read back from its history.
@Suite(.timeLimit(.minutes(5))) struct RecheckTests {
    @Test func markCompleteMakesASeedOnceWithOneEvent() throws {
        let store = try BtqStore.inMemory()
        let id = try store.add(Fixtures.new(Fixtures.metainfo(seed: 1))).record.id
        #expect(try store.seedCandidates(limit: 5).isEmpty)
        #expect(try store.downloadCandidates(limit: 5).map(\.id) == [id])
        try store.markComplete(torrentId: id)
        let first = try #require(try store.torrent(id: id)?.completedAt)
        try store.markComplete(torrentId: id)
        #expect(try store.torrent(id: id)?.completedAt == first)
        #expect(try store.seedCandidates(limit: 5).map(\.id) == [id])
        #expect(try store.downloadCandidates(limit: 5).isEmpty)
        #expect(try store.events(torrentId: id).filter { $0.kind == EventKind.completed.rawValue }.count == 1)
        // A torrent that completed before gets no second completion when it seeds.
        try store.setState(torrentId: id, .seeding)
        #expect(try store.events(torrentId: id).filter { $0.kind == EventKind.completed.rawValue }.count == 1)
        #expect(throws: StoreError.self) { try store.markComplete(torrentId: 99) }
    }

    @Test(arguments: [TorrentState.queued, .paused, .seeding, .completed, .downloading, .error])
    func theStateBeforeACheckIsReadBack(_ before: TorrentState) throws {
        let store = try BtqStore.inMemory()
        let id = try store.add(Fixtures.new(Fixtures.metainfo(seed: 1))).record.id
        #expect(try store.stateBeforeChecking(torrentId: id) == nil)
        if before != .queued { try store.setState(torrentId: id, before, error: before == .error ? "x" : nil) }
        try store.setState(torrentId: id, .checking)
        #expect(try store.stateBeforeChecking(torrentId: id) == before)
        // The latest check counts.
        try store.setState(torrentId: id, .queued)
        try store.setState(torrentId: id, .paused)
        try store.setState(torrentId: id, .checking)
        #expect(try store.stateBeforeChecking(torrentId: id) == .paused)
    }
}
