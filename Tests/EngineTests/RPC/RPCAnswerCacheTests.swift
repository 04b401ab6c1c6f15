import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Engine

/// `torrent-get`'s kept answers of the torrents no session works: the same bytes as writing them afresh,
/// never a stale value, worked torrents always written anew, and bounded.
@Suite struct RPCAnswerCacheTests {
    /// A backend whose torrents a test changes between requests.
    final class ChangingBackend: RPCBackend {
        let list: Mutex<[RPCTorrent]>
        let trackers = Mutex<[RPCTorrentDetails.Tracker]>([])

        init(_ list: [RPCTorrent]) { self.list = Mutex(list) }

        func torrents() async throws(RPCError) -> [RPCTorrent] { list.withLock { $0 } }
        func details(of ids: [Int64], needs: RPCDetailNeeds) async throws(RPCError) -> [Int64: RPCTorrentDetails] {
            let details = RPCTorrentDetails(trackers: trackers.withLock { $0 })
            return Dictionary(uniqueKeysWithValues: ids.map { ($0, details) })
        }
        func add(_ request: RPCAddRequest) async throws(RPCError) -> RPCAdded { throw RPCError.unsupported("add") }
        func perform(_ action: RPCAction, on ids: [Int64]) async throws(RPCError) {}
        func remove(_ ids: [Int64], deleteData: Bool) async throws(RPCError) {}
        func change(_ ids: [Int64], _ changes: RPCTorrentChanges) async throws(RPCError) {}
        func move(_ ids: [Int64], _ move: RPCQueueMove) async throws(RPCError) {}
        func session() async throws(RPCError) -> RPCSession { throw RPCError.unsupported("session") }
        func changeSession(_ changes: RPCSessionChanges) async throws(RPCError) -> [String] { [] }
        func statistics() async throws(RPCError) -> RPCStatistics { RPCStatistics() }
        func freeSpace(at path: String) async throws(RPCError) -> (free: Int64, total: Int64) { (0, 0) }
    }

    static let request = Array(
        #"{"method":"torrent-get","arguments":{"fields":["id","name","status","rateDownload","trackerStats","peersConnected"]}}"#
            .utf8)

    static func torrents(_ count: Int) -> [RPCTorrent] {
        (1...count).map { id in
            var torrent = RPCDispatcherTests.torrent(Int64(id), id % 3 == 0 ? .downloading : .paused)
            torrent.isActive = id % 3 == 0
            return torrent
        }
    }

    /// What a dispatcher with nothing kept answers: the reference each answer is compared with.
    static func fresh(_ backend: ChangingBackend) async -> [UInt8] {
        await RPCDispatcher(backend: backend, settings: RPCSettings()).respond(to: request)
    }

    @Test func keptAnswersAreWhatWritingGivesAndFollowEveryChange() async throws {
        let backend = ChangingBackend(Self.torrents(30))
        backend.trackers.withLock {
            $0 = [
                .init(
                    id: 1, announce: "http://t.example/announce", tier: 0, seeders: 1, leechers: 0, downloads: 0,
                    lastAnnounce: 5, nextAnnounce: 4_000_000_000, lastError: nil)
            ]
        }
        let dispatcher = RPCDispatcher(backend: backend, settings: RPCSettings())
        let first = await dispatcher.respond(to: Self.request)
        #expect(first == (await Self.fresh(backend)))
        let second = await dispatcher.respond(to: Self.request)
        #expect(second == first, "the same values: the same answer")

        // A stopped torrent renamed, a worked one faster, a tracker that answered: each in the next answer.
        backend.list.withLock {
            $0[0].name = "renamed"
            $0[2].rateDownload = 12_345
        }
        let changed = await dispatcher.respond(to: Self.request)
        #expect(changed == (await Self.fresh(backend)))
        let text = String(decoding: changed, as: UTF8.self)
        #expect(text.contains("\"renamed\"") && text.contains("12345"))
        backend.trackers.withLock { $0[0].lastError = "gone" }
        #expect(await dispatcher.respond(to: Self.request) == (await Self.fresh(backend)))

        // A torrent removed from the queue is not answered from what was kept.
        backend.list.withLock { _ = $0.removeFirst() }
        let fewer = await dispatcher.respond(to: Self.request)
        #expect(fewer == (await Self.fresh(backend)))
        #expect(!String(decoding: fewer, as: UTF8.self).contains("\"renamed\""))
    }

    @Test func aTableAndOtherFieldsAreKeptApart() async throws {
        let backend = ChangingBackend(Self.torrents(5))
        let dispatcher = RPCDispatcher(backend: backend, settings: RPCSettings())
        let table = Array(#"{"method":"torrent-get","arguments":{"fields":["id","name"],"format":"table"}}"#.utf8)
        let objects = Array(#"{"method":"torrent-get","arguments":{"fields":["id","name"]}}"#.utf8)
        for _ in 0..<2 {
            let rows =
                try JSONSerialization.jsonObject(with: Data(await dispatcher.respond(to: table))) as? [String: Any]
            #expect(((rows?["arguments"] as? [String: Any])?["torrents"] as? [[Any]])?.count == 6)
            let list =
                try JSONSerialization.jsonObject(with: Data(await dispatcher.respond(to: objects))) as? [String: Any]
            #expect(((list?["arguments"] as? [String: Any])?["torrents"] as? [[String: Any]])?.count == 5)
        }
    }

    @Test func whatIsKeptStaysWithinItsBound() {
        var entries = RPCAnswerCache.Entries()
        let torrent = RPCDispatcherTests.torrent(1, .paused)
        // No room: nothing kept.
        entries.keep(.init(torrent: torrent, details: RPCTorrentDetails(), json: [1, 2, 3]), of: 1)
        #expect(entries.fragments.isEmpty && entries.bytes == 0)
        let cache = RPCAnswerCache()
        let shape = RPCAnswerCache.Shape(fields: [.id], table: false)
        cache.withEntries(for: shape) { entries in
            entries.keep(.init(torrent: torrent, details: RPCTorrentDetails(), json: [1, 2, 3]), of: 1)
            let big = [UInt8](repeating: 0, count: RPCAnswerCache.maximumBytes)
            entries.keep(.init(torrent: torrent, details: RPCTorrentDetails(), json: big), of: 2)
        }
        #expect(cache.bytes == 3, "the one past the bound is not kept")
        // More shapes than kept: the least recently asked goes.
        let others: [RPCTorrentField] = [.name, .status, .eta, .hashString]
        #expect(others.count == RPCAnswerCache.maximumShapes)
        for field in others.dropLast() {
            cache.withEntries(for: RPCAnswerCache.Shape(fields: [field], table: false)) { _ in }
        }
        #expect(cache.bytes == 3, "still kept while there is room for its shape")
        cache.withEntries(for: RPCAnswerCache.Shape(fields: [others.last!], table: false)) { _ in }
        #expect(cache.bytes == 0, "the first shape was dropped")
    }

    /// A large answer, once sent (no one else holds it), is the buffer the next one is written into; one
    /// still held (not yet sent) is never written over.
    @Test func theNextLargeAnswerIsWrittenIntoTheLastOnesBuffer() async throws {
        let dispatcher = RPCDispatcher(backend: ChangingBackend(Self.torrents(20_000)), settings: RPCSettings())
        func address(_ buffer: ByteBuffer) -> Int {
            buffer.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) }
        }
        /// An answer's address and bytes, the answer let go (as once it is sent).
        func sent() async -> (address: Int, bytes: [UInt8]) {
            let answer = await dispatcher.answer(to: Self.request)
            return (address(answer), Array(answer.readableBytesView))
        }
        // The first answer grows its buffer as it is written; the next is sized from it at once.
        _ = await sent()
        let first = await sent()
        #expect(first.bytes.count > 1 << 20)
        let second = await sent()
        #expect(second.address == first.address && second.bytes == first.bytes)

        // While an answer is held (not yet sent), the next one is written elsewhere and it stays whole.
        let held = await dispatcher.answer(to: Self.request)
        let heldAddress = address(held)
        let third = await sent()
        let heldIntact = Array(held.readableBytesView) == first.bytes
        #expect(heldAddress == first.address && third.address != heldAddress && heldIntact)
        #expect(third.bytes == first.bytes)

        // A small answer neither takes nor keeps the buffer.
        let small = await dispatcher.answer(to: Array(#"{"method":"session-stats"}"#.utf8))
        let smallAddress = address(small)
        let fourth = await sent()
        #expect(smallAddress != third.address && fourth.address == third.address)
    }
}
