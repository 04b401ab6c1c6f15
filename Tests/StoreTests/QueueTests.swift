import Engine
import Foundation
import GRDB
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct QueueTests {
    static func store(count: Int) throws -> BtqStore {
        let store = try BtqStore.inMemory()
        _ = try store.adder.add(contentsOf: (1...count).map { Fixtures.new(Fixtures.metainfo(seed: UInt64($0))) })
        return store
    }

    static func order(_ store: BtqStore) throws -> [Int64] {
        let list = try store.queries.torrents()
        #expect(list.map(\.queuePosition) == Array(0..<list.count), "positions stay dense")
        return list.map(\.id)
    }

    @Test func moves() throws {
        let store = try Self.store(count: 5)
        #expect(try store.queue.move(torrentId: 3, .up) == 1)
        #expect(try Self.order(store) == [1, 3, 2, 4, 5])
        try store.queue.move(torrentId: 3, .down)
        #expect(try Self.order(store) == [1, 2, 3, 4, 5])
        try store.queue.move(torrentId: 4, .top)
        #expect(try Self.order(store) == [4, 1, 2, 3, 5])
        try store.queue.move(torrentId: 1, .bottom)
        #expect(try Self.order(store) == [4, 2, 3, 5, 1])
        // No-ops at the ends: no change, no event.
        let events = try store.queries.events().count
        try store.queue.move(torrentId: 4, .up)
        try store.queue.move(torrentId: 4, .top)
        try store.queue.move(torrentId: 1, .down)
        try store.queue.move(torrentId: 1, .bottom)
        #expect(try Self.order(store) == [4, 2, 3, 5, 1])
        #expect(try store.queries.events().count == events)
        let moved = try store.queries.events(torrentId: 1).filter { $0.kind == "moved" }
        #expect(moved.map(\.detail) == ["bottom: position 1 -> 4"])
        let error = #expect(throws: StoreError.self) { try store.queue.move(torrentId: 42, .up) }
        #expect(error?.code == .notFound)
    }

    @Test func softRemoveKeepsHistoryAndCompactsTheQueue() throws {
        let store = try Self.store(count: 4)
        try store.queue.setState(torrentId: 2, .downloading)
        try store.queue.remove(torrentId: 2, purge: false)
        #expect(try Self.order(store) == [1, 3, 4])
        let removed = try #require(try store.queries.torrent(id: 2))
        #expect(removed.isRemoved && removed.queuePosition == -1 && removed.state == .downloading)
        #expect(try store.queries.torrents(includeRemoved: true).map(\.id) == [1, 3, 4, 2])
        #expect(try store.queries.events(torrentId: 2).map(\.kind) == ["added", "started", "removed"])
        #expect(try store.queries.files(torrentId: 2).count == 2)
        // Removing again changes nothing; moving or changing the state of a removed torrent is refused.
        try store.queue.remove(torrentId: 2, purge: false)
        #expect(try store.queries.events(torrentId: 2).count == 3)
        #expect((#expect(throws: StoreError.self) { try store.queue.move(torrentId: 2, .top) })?.code == .removed)
        #expect(
            (#expect(throws: StoreError.self) { try store.queue.setState(torrentId: 2, .queued) })?.code == .removed)
        // A removed torrent in the last place: the queue is still dense.
        try store.queue.remove(torrentId: 4, purge: false)
        #expect(try Self.order(store) == [1, 3])
        _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 9)))
        #expect(try Self.order(store) == [1, 3, 5])
    }

    @Test func purgeDeletesEverything() throws {
        let store = try Self.store(count: 3)
        try store.progress.saveProgress(
            ProgressBatch(
                torrents: [TorrentProgress(torrentId: 2, pieces: [0: true], blockMasks: [1: Bitfield(pattern: "1")!])],
                peers: [PeerUpdate(torrentId: 2, address: "127.0.0.1", port: 6881, source: .tracker)]))
        try store.progress.recordFileStats(
            torrentId: 2, [FileStat(index: FileIndex(0), size: 1, modificationTimeNanoseconds: 1)])
        try store.queries.setFilePriorities(torrentId: 2, [1: 0])
        try store.queue.remove(torrentId: 2, purge: true)
        #expect(try Self.order(store) == [1, 3])
        #expect(try store.queries.torrent(id: 2) == nil)
        #expect(try store.queries.events(torrentId: 2).isEmpty)
        #expect(try store.queries.files(torrentId: 2).isEmpty)
        #expect(try store.queries.trackers(torrentId: 2).isEmpty)
        #expect(try store.queries.peers(torrentId: 2).isEmpty)
        let leftovers = try store.writer.read { db in
            try ["piece_bitfields", "block_masks", "file_state", "trackers", "peers", "events"].map { table in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE torrent_id = 2") ?? -1
            }
        }
        #expect(leftovers == [0, 0, 0, 0, 0, 0])
        // Purging a soft-removed torrent works too, and leaves the queue alone.
        try store.queue.remove(torrentId: 1, purge: false)
        try store.queue.remove(torrentId: 1, purge: true)
        #expect(try store.queries.torrents(includeRemoved: true).map(\.id) == [3])
        #expect(try Self.order(store) == [3])
        #expect(
            (#expect(throws: StoreError.self) { try store.queue.remove(torrentId: 1, purge: true) })?.code == .notFound)
    }

    @Test func reAddingARemovedTorrentRevivesIt() throws {
        let store = try Self.store(count: 3)
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(torrentId: 1, pieces: [0: true], transferred: .init(downloaded: 99))
            ]))
        try store.queue.remove(torrentId: 1, purge: false)
        let outcome = try store.adder.add(
            NewTorrent(source: .metainfo(Fixtures.metainfo(seed: 1)), saveDirectory: "/elsewhere", paused: true))
        guard case .added(let record) = outcome else {
            Issue.record("expected a revival, got \(outcome)")
            return
        }
        #expect(record.id == 1 && !record.isRemoved && record.state == .paused)
        #expect(record.saveDirectory == "/elsewhere")
        #expect(record.queuePosition == 2)
        #expect(record.piecesDone == 0 && record.downloaded == 99)
        #expect(try store.progress.resumeState(torrentId: 1)?.verified.isNone == true)
        #expect(try store.queries.events(torrentId: 1).map(\.kind) == ["added", "removed", "added"])
        #expect(try Self.order(store) == [2, 3, 1])
    }

    @Test func stateChangesRecordEventsAndTimes() throws {
        let store = try Self.store(count: 1)
        try store.queue.setState(torrentId: 1, .downloading)
        let started = try #require(try store.queries.torrent(id: 1)?.startedAt)
        try store.queue.setState(torrentId: 1, .paused)
        try store.queue.setState(torrentId: 1, .paused)  // no change, no event
        try store.queue.setState(torrentId: 1, .downloading)
        try store.queue.setState(torrentId: 1, .error, error: "disk full")
        #expect(try store.queries.torrent(id: 1)?.lastError == "disk full")
        try store.queue.setState(torrentId: 1, .downloading)
        try store.queue.setState(torrentId: 1, .seeding)
        let record = try #require(try store.queries.torrent(id: 1))
        #expect(record.state == .seeding && record.lastError == nil && record.startedAt == started)
        #expect(record.completedAt != nil)
        let events = try store.queries.events(torrentId: 1)
        #expect(events.map(\.kind) == ["added", "started", "paused", "resumed", "error", "started", "completed"])
        #expect(events[4].detail == "downloading -> error: disk full")
        #expect(
            (#expect(throws: StoreError.self) { try store.queue.setState(torrentId: 9, .queued) })?.code == .notFound)
    }

    /// Completing is recorded once: a seed that starts seeding again after a restart has started, and
    /// one that stops at a seed limit has changed state; neither completed again.
    @Test func completionIsRecordedOnce() throws {
        let store = try Self.store(count: 1)
        try store.queue.setState(torrentId: 1, .downloading)
        try store.queue.setState(torrentId: 1, .seeding)
        try store.queue.setState(torrentId: 1, .queued)
        try store.queue.setState(torrentId: 1, .seeding)
        try store.queue.setState(torrentId: 1, .completed)
        try store.queue.setState(torrentId: 1, .queued)
        try store.queue.setState(torrentId: 1, .completed)
        let kinds = try store.queries.events(torrentId: 1).map(\.kind)
        #expect(kinds == ["added", "started", "completed", "state", "started", "state", "state", "state"])
    }

    @Test func eventsFilterByTorrentTimeAndLimit() throws {
        let store = try Self.store(count: 2)
        try store.progress.recordEvents([
            HistoryEvent(torrentId: 1, at: Timestamp(rawValue: 1_000), kind: .checked, detail: "old"),
            HistoryEvent(torrentId: nil, at: Timestamp(rawValue: 2_000), kind: "daemon-start"),
            HistoryEvent(torrentId: 77, kind: .error, detail: "no such torrent: dropped"),
        ])
        let all = try store.queries.events()
        #expect(all.map(\.kind) == ["checked", "daemon-start", "added", "added"])
        #expect(all.first?.at == Date(timeIntervalSince1970: 1))
        #expect(try store.queries.events(torrentId: 1).map(\.kind) == ["checked", "added"])
        #expect(
            try store.queries.events(since: Date(timeIntervalSince1970: 1.5)).map(\.kind) == [
                "daemon-start", "added", "added",
            ])
        #expect(try store.queries.events(limit: 2).map(\.torrentId) == [1, 2])
        #expect(try store.queries.events(torrentId: 2, since: Date(timeIntervalSince1970: 10), limit: 1).count == 1)
    }

    @Test func listFiltersByState() throws {
        let store = try Self.store(count: 4)
        try store.queue.setState(torrentId: 2, .paused)
        try store.queue.setState(torrentId: 4, .paused)
        #expect(try store.queries.torrents(state: .paused).map(\.id) == [2, 4])
        #expect(try store.queries.torrents(state: .queued).map(\.id) == [1, 3])
        try store.queue.remove(torrentId: 4, purge: false)
        #expect(try store.queries.torrents(state: .paused).map(\.id) == [2])
        #expect(try store.queries.torrents(includeRemoved: true, state: .paused).map(\.id) == [2, 4])
    }

    @Test func settingsRoundTrip() throws {
        let store = try BtqStore.inMemory()
        #expect(try store.settings.value("max-active-downloads") == nil)
        try store.settings.set("max-active-downloads", to: "3")
        try store.settings.set("max-active-downloads", to: "2")
        #expect(try store.settings.all() == ["max-active-downloads": "2"])
        try store.settings.set("max-active-downloads", to: nil)
        #expect(try store.settings.all().isEmpty)
    }
}
