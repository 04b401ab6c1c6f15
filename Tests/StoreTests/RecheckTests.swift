import Engine
import Foundation
import Testing

@testable import Store

/// What a full recheck records: a complete torrent becomes a seed, and the state it had before the check
/// can be read back from its history.
@Suite(.timeLimit(.minutes(5))) struct RecheckTests {
    @Test func markCompleteMakesASeedOnceWithOneEvent() throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1))).record.id
        #expect(try store.queue.seedCandidates(limit: 5).isEmpty)
        #expect(try store.queue.downloadCandidates(limit: 5).map(\.id) == [id])
        try store.queue.markComplete(torrentId: id)
        let first = try #require(try store.queries.torrent(id: id)?.completedAt)
        try store.queue.markComplete(torrentId: id)
        #expect(try store.queries.torrent(id: id)?.completedAt == first)
        #expect(try store.queue.seedCandidates(limit: 5).map(\.id) == [id])
        #expect(try store.queue.downloadCandidates(limit: 5).isEmpty)
        #expect(try store.queries.events(torrentId: id).filter { $0.kind == EventKind.completed.rawValue }.count == 1)
        // A torrent that completed before gets no second completion when it seeds.
        try store.queue.setState(torrentId: id, .seeding)
        #expect(try store.queries.events(torrentId: id).filter { $0.kind == EventKind.completed.rawValue }.count == 1)
        #expect(throws: StoreError.self) { try store.queue.markComplete(torrentId: 99) }
    }

    /// A torrent checked ahead of its download slot stays queued with a `checked` event, and is marked as
    /// having run (once: a second mark keeps the first time); a removed one records nothing.
    @Test func aCheckAheadMarksTheTorrentAsRunWithOneEvent() throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1))).record.id
        #expect(try store.queries.torrent(id: id)?.startedAt == nil)
        #expect(try store.queue.checkAheadCandidates(limit: 5).map(\.id) == [id])
        try store.queue.markCheckedAhead(torrentId: id, detail: "3 of 8 wanted pieces there")
        #expect(try store.queue.checkAheadCandidates(limit: 5).isEmpty)
        let record = try #require(try store.queries.torrent(id: id))
        let first = try #require(record.startedAt)
        #expect(record.state == .queued)
        #expect(try store.queue.downloadCandidates(limit: 5).map(\.id) == [id])
        try store.queue.markCheckedAhead(torrentId: id, detail: "again")
        #expect(try store.queries.torrent(id: id)?.startedAt == first)
        let checked = try store.queries.events(torrentId: id).filter { $0.kind == EventKind.checked.rawValue }
        #expect(checked.map(\.detail) == ["3 of 8 wanted pieces there", "again"])
        let other = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 2))).record.id
        try store.queue.remove(torrentId: other, purge: false)
        try store.queue.markCheckedAhead(torrentId: other, detail: "gone")
        #expect(try store.queries.events(torrentId: other).allSatisfy { $0.kind != EventKind.checked.rawValue })
    }

    @Test(arguments: [TorrentState.queued, .paused, .seeding, .completed, .downloading, .error])
    func theStateBeforeACheckIsReadBack(_ before: TorrentState) throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1))).record.id
        #expect(try store.queue.stateBeforeChecking(torrentId: id) == nil)
        if before != .queued { try store.queue.setState(torrentId: id, before, error: before == .error ? "x" : nil) }
        try store.queue.setState(torrentId: id, .checking)
        #expect(try store.queue.stateBeforeChecking(torrentId: id) == before)
        // The latest check counts.
        try store.queue.setState(torrentId: id, .queued)
        try store.queue.setState(torrentId: id, .paused)
        try store.queue.setState(torrentId: id, .checking)
        #expect(try store.queue.stateBeforeChecking(torrentId: id) == .paused)
    }
}
