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
}
