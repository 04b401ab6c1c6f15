import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// `btq list`'s reads: the queue in two halves read at once is the queue, and it comes from the
/// covering index alone.
@Suite(.timeLimit(.minutes(5))) struct QueueLineTests {
    /// A file database (a pool: the halves are read on two connections) with a queue that was moved,
    /// paused and pruned.
    static func shuffledQueue(in directory: TemporaryDirectory) throws -> BtqStore {
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        _ = try store.adder.add(contentsOf: (1...60).map { Fixtures.new(Fixtures.metainfo(seed: UInt64($0))) })
        for id in stride(from: 5, through: 60, by: 7) { _ = try store.queue.move(torrentId: Int64(id), .top) }
        for id in stride(from: 3, through: 60, by: 5) { try store.queue.setState(torrentId: Int64(id), .paused) }
        for id in [2, 20, 41] { try store.queue.remove(torrentId: Int64(id), purge: false) }
        return store
    }

    @Test(arguments: [nil, TorrentState.paused, .queued])
    func halvesReadAtOnceMakeTheQueue(state: TorrentState?) throws {
        let directory = try TemporaryDirectory()
        let store = try Self.shuffledQueue(in: directory)
        let whole = try store.listing.queueLines(state: state)
        #expect(whole.count > 10)
        let parts = try store.listing.queueLineParts(state: state, parts: 2, splitAbove: 10)
        #expect(parts.count == 2 && parts.allSatisfy { !$0.isEmpty }, "\(parts.map(\.count))")
        #expect(Array(parts.joined()) == whole)
        // Short queues come back whole.
        #expect(try store.listing.queueLineParts(state: state, parts: 2) == [whole])
    }

    @Test func theListingReadsOnlyTheCoveringIndex() throws {
        let directory = try TemporaryDirectory()
        let store = try Self.shuffledQueue(in: directory)
        let listing = QueueListing.queueLineSQL(
            clauses: "WHERE removed_at IS NULL AND queue_position >= ? ORDER BY queue_position", removed: false)
        let plan = try store.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + listing, arguments: [10])
                .map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("COVERING INDEX torrents_listed"), "\(plan)")
    }
}
