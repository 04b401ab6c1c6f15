import Engine
import Foundation
import Testing

@testable import Store

/// Schema 16's counter moves with every change a running daemon follows, whoever writes it, and not
/// with what the daemon's own journal writes.
@Suite(.timeLimit(.minutes(1))) struct QueueGenerationTests {
    @Test func followedChangesMoveItAndTheJournalDoesNot() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        let ports = store.ports
        var last = try ports.queueGeneration()
        func moved() throws -> Bool {
            let now = try ports.queueGeneration()
            defer { last = now }
            return now != last
        }
        let first = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1, fileLengths: [40_000]))).record
        #expect(try moved(), "a torrent added")
        let second = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 2, fileLengths: [40_000]))).record
        #expect(try moved())

        // What the daemon's journal and seeding clock write leave it alone.
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(
                    torrentId: first.id, pieces: [0: true], blockMasks: [1: Bitfield(pattern: "1100")!],
                    transferred: TransferTotals(downloaded: 16_384, uploaded: 10, wasted: 0))
            ]))
        try ports.addSeedingSeconds([first.id: 30, second.id: 12])
        try ports.addSeedingSeconds(torrentId: first.id, 5)
        #expect(try !moved(), "progress, counters and seeding time are not followed")
        #expect(try ports.seedingSeconds(torrentId: first.id) == 35)
        #expect(try ports.seedingSeconds(torrentId: second.id) == 12)
        _ = try store.queue.move(torrentId: second.id, .top)
        #expect(try !moved(), "a queue move preempts nothing")

        // What the CLI (or the RPC) writes moves it.
        try ports.setState(torrentId: first.id, .paused)
        #expect(try moved(), "paused")
        try store.limits.setRateLimits(torrentId: first.id, TorrentRateLimits(download: 1_000, upload: nil))
        #expect(try moved(), "own rate limits")
        _ = try store.queries.setDownloadOrder(torrentId: first.id, .sequential)
        #expect(try moved(), "download order")
        try store.settings.set("max_active_seeds", to: "9")
        #expect(try moved(), "a setting set")
        try store.settings.set("max_active_seeds", to: nil)
        #expect(try moved(), "a setting cleared")
        try store.queue.remove(torrentId: second.id, purge: false)
        #expect(try moved(), "removed")
        try store.queue.remove(torrentId: first.id, purge: true)
        #expect(try moved(), "purged")
    }

    /// Schema 17's stamps: a daemon that read the rows it works at generation G reads, past G, only those
    /// whose followed columns changed and the ids deleted; what the journal writes is not a change.
    @Test func onlyTheRowsChangedSinceAGenerationAreRead() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        let ports = store.ports
        let ids = try (1...4).map {
            try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: UInt64($0), fileLengths: [40_000]))).record.id
        }
        let worked = Set(ids)
        let start = try ports.queueGeneration()
        var read = try ports.torrentsChanged(among: worked, since: start)
        #expect(read.changed.isEmpty && read.deleted.isEmpty, "nothing changed since")
        #expect(
            try ports.torrentsChanged(among: worked, since: 0).changed.map(\.id).sorted() == ids, "all added since 0")

        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(
                    torrentId: ids[0], pieces: [0: true], blockMasks: [:],
                    transferred: TransferTotals(downloaded: 16_384, uploaded: 10, wasted: 0))
            ]))
        try ports.addSeedingSeconds([ids[0]: 30])
        #expect(try ports.torrentsChanged(among: worked, since: start).changed.isEmpty, "the journal's writes")

        try ports.setState(torrentId: ids[1], .paused, error: nil)
        try store.queue.remove(torrentId: ids[2], purge: false)
        try store.queue.remove(torrentId: ids[3], purge: true)
        read = try ports.torrentsChanged(among: worked, since: start)
        #expect(read.changed.map(\.id).sorted() == [ids[1], ids[2]])
        #expect(read.changed.first { $0.id == ids[1] }?.state == .paused)
        #expect(read.changed.first { $0.id == ids[2] }?.isRemoved == true)
        #expect(read.deleted == [ids[3]])
        // Only the torrents asked about.
        #expect(try ports.torrentsChanged(among: [ids[0]], since: start).changed.isEmpty)
        let later = try ports.queueGeneration()
        read = try ports.torrentsChanged(among: worked, since: later)
        #expect(read.changed.isEmpty && read.deleted.isEmpty)
    }

    /// The candidates past the torrents worked: their ids are skipped, however many come first.
    @Test func candidatesSkipTheTorrentsWorked() throws {
        let store = try BtqStore.inMemory()
        let ids = try (1...5).map {
            try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: UInt64($0)))).record.id
        }
        #expect(
            try store.queue.downloadCandidates(limit: 2, excluding: Set(ids.prefix(3))).map(\.id) == [ids[3], ids[4]])
        #expect(try store.queue.downloadCandidates(limit: 1, excluding: [ids[0]]).map(\.id) == [ids[1]])
        #expect(try store.queue.downloadCandidates(limit: 9, excluding: Set(ids)).isEmpty)
    }
}
