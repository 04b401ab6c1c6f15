import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// The batching of scrapes into multi-hash requests, against a scripted tracker (a `send` that records
/// what it was asked and answers as told). Batches that must go together are filled to their most, so
/// that nothing depends on the gathering time, but for the one test of the timer itself.
@Suite(.timeLimit(.minutes(2))) struct ScrapeBatcherTests {
    static let url = "http://127.0.0.1:1/announce"

    static func hash(_ n: UInt8) -> [UInt8] { [UInt8](repeating: n, count: 20) }

    static func result(_ n: UInt8) -> ScrapeResult { ScrapeResult(seeders: Int(n), completed: 0, leechers: 1) }

    /// A scripted tracker: records each request's hashes and answers with `answer` (which may throw).
    final class Tracker: Sendable {
        let requests = Mutex([[[UInt8]]]())
        let answer: @Sendable ([[UInt8]]) throws -> [[UInt8]: ScrapeResult]

        init(answer: @escaping @Sendable ([[UInt8]]) throws -> [[UInt8]: ScrapeResult] = Tracker.everyHash) {
            self.answer = answer
        }

        static func everyHash(_ hashes: [[UInt8]]) -> [[UInt8]: ScrapeResult] {
            Dictionary(uniqueKeysWithValues: hashes.map { ($0, ScrapeBatcherTests.result($0[0])) })
        }

        func batcher(gather: Duration = .seconds(3600)) -> ScrapeBatcher {
            ScrapeBatcher(eventLoop: MultiThreadedEventLoopGroup.singleton.any(), configuration: .init(gather: gather))
            {
                _, hashes in
                self.requests.withLock { $0.append(hashes) }
                return try self.answer(hashes)
            }
        }

        var sizes: [Int] { requests.withLock { $0.map(\.count) } }
    }

    /// Scrapes `numbers` at once (each in its own task), and returns each one's outcome.
    static func scrapeAll(
        _ batcher: ScrapeBatcher, _ numbers: [UInt8], most: Int, url: String = url
    ) async -> [UInt8: Result<ScrapeResult, any Error>] {
        await withTaskGroup(of: (UInt8, Result<ScrapeResult, any Error>).self) { group in
            for n in numbers {
                group.addTask {
                    do {
                        return (n, .success(try await batcher.scrape(url: url, infoHash: hash(n), most: most)))
                    } catch {
                        return (n, .failure(error))
                    }
                }
            }
            var outcomes: [UInt8: Result<ScrapeResult, any Error>] = [:]
            for await (n, outcome) in group { outcomes[n] = outcome }
            return outcomes
        }
    }

    @Test func aFullBatchGoesInOneRequestAndEachGetsItsOwnResult() async throws {
        let tracker = Tracker()
        let batcher = tracker.batcher()
        let outcomes = await Self.scrapeAll(batcher, [1, 2, 3, 4, 5, 6], most: 3)
        for n: UInt8 in 1...6 { #expect(try outcomes[n]?.get() == Self.result(n)) }
        #expect(tracker.sizes == [3, 3])
        #expect(Set(tracker.requests.withLock { $0.joined() }) == Set((1...6).map { Self.hash($0) }))
        #expect(batcher.waitingCount == 0)
    }

    @Test func trackersAreBatchedApart() async throws {
        let tracker = Tracker()
        let batcher = tracker.batcher()
        async let first = Self.scrapeAll(batcher, [1, 2], most: 2, url: Self.url)
        async let second = Self.scrapeAll(batcher, [1, 2], most: 2, url: Self.url + "?passkey=x")
        let (a, b) = await (first, second)
        #expect(try a[1]?.get() == Self.result(1) && b[2]?.get() == Self.result(2))
        #expect(tracker.sizes == [2, 2])
    }

    /// A batch that never fills goes once its gathering time is over.
    @Test func aLoneScrapeGoesAfterTheGatheringTime() async throws {
        let tracker = Tracker()
        let batcher = tracker.batcher(gather: .milliseconds(50))
        let outcomes = await Self.scrapeAll(batcher, [7], most: 64)
        #expect(try outcomes[7]?.get() == Self.result(7))
        #expect(tracker.sizes == [1])
    }

    @Test func aHashAskedTwiceGoesOnce() async throws {
        let tracker = Tracker()
        let batcher = tracker.batcher()
        async let first = batcher.scrape(url: Self.url, infoHash: Self.hash(4), most: 2)
        async let second = batcher.scrape(url: Self.url, infoHash: Self.hash(4), most: 2)
        let (a, b) = try await (first, second)
        #expect(a == Self.result(4) && b == Self.result(4))
        #expect(tracker.requests.withLock { $0 } == [[Self.hash(4)]])
    }

    /// A tracker that answers only the first hash of a request: the others are asked alone, answered,
    /// and from then on that tracker is asked one hash at a time, without waiting to gather.
    @Test func aTrackerAnsweringOneHashAtATimeIsLearned() async throws {
        let tracker = Tracker { hashes in Tracker.everyHash([hashes[0]]) }
        let batcher = tracker.batcher()
        let outcomes = await Self.scrapeAll(batcher, [1, 2, 3], most: 3)
        for n: UInt8 in 1...3 { #expect(try outcomes[n]?.get() == Self.result(n)) }
        #expect(tracker.sizes == [3, 1, 1])
        #expect(batcher.learnedMost(for: Self.url) == 1)
        // The gathering time is an hour: this one goes at once, alone.
        #expect(try await batcher.scrape(url: Self.url, infoHash: Self.hash(9), most: 3) == Self.result(9))
        #expect(tracker.sizes == [3, 1, 1, 1])
    }

    /// A batch that opened before the tracker was found to answer one hash at a time goes in single
    /// requests once that is known.
    @Test func aBatchOpenWhileLearningGoesAlone() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let requests = Mutex([[[UInt8]]]())
        let batcher = ScrapeBatcher(
            eventLoop: MultiThreadedEventLoopGroup.singleton.any(), configuration: .init(gather: .seconds(3600))
        ) { _, hashes in
            requests.withLock { $0.append(hashes) }
            if hashes.count > 1 {
                for await _ in gate { break }
            }
            return Tracker.everyHash([hashes[0]])
        }
        let first = Task { await Self.scrapeAll(batcher, [1, 2], most: 2) }
        #expect(try await poll(timeout: .seconds(10)) { requests.withLock { $0.count } == 1 })
        // A second batch opens while the first is on its way.
        let late = Task { try await batcher.scrape(url: Self.url, infoHash: Self.hash(5), most: 2) }
        #expect(try await poll(timeout: .seconds(10)) { batcher.waitingCount == 3 })
        open.yield()
        let outcomes = await first.value
        #expect(try outcomes[1]?.get() == Self.result(1) && outcomes[2]?.get() == Self.result(2))
        #expect(batcher.learnedMost(for: Self.url) == 1)
        // The next scrape finds the open batch at the learned size: both go, one hash each.
        #expect(try await batcher.scrape(url: Self.url, infoHash: Self.hash(6), most: 2) == Self.result(6))
        #expect(try await late.value == Self.result(5))
        #expect(requests.withLock { $0.map(\.count) } == [2, 1, 1, 1])
    }

    /// A torrent the tracker does not know, left out of a reply that mentions the others: it fails as a
    /// single scrape does, at once, and the tracker keeps its multi-hash requests.
    @Test func anUnknownTorrentFailsAndTheTrackerStaysMulti() async throws {
        let tracker = Tracker { hashes in Tracker.everyHash(hashes.filter { $0[0] != 2 }) }
        let batcher = tracker.batcher()
        let outcomes = await Self.scrapeAll(batcher, [1, 2, 3], most: 3)
        #expect(try outcomes[1]?.get() == Self.result(1) && outcomes[3]?.get() == Self.result(3))
        #expect(throws: TrackerError.malformed("scrape reply does not mention the torrent")) {
            try outcomes[2]?.get()
        }
        #expect(tracker.sizes == [3])
        #expect(batcher.learnedMost(for: Self.url) == nil)
    }

    /// A reply that mentions none of the torrents (none known yet): each is asked alone; unknown alone
    /// too, each fails, and nothing is learned.
    @Test func aReplyMentioningNoneIsCheckedAlone() async throws {
        let tracker = Tracker { _ in [:] }
        let batcher = tracker.batcher()
        let outcomes = await Self.scrapeAll(batcher, [1, 2], most: 2)
        for n: UInt8 in 1...2 {
            #expect(throws: TrackerError.malformed("scrape reply does not mention the torrent")) {
                try outcomes[n]?.get()
            }
        }
        #expect(tracker.sizes == [2, 1, 1])
        #expect(batcher.learnedMost(for: Self.url) == nil)
    }

    /// What was learned of a tracker holds for `learnedFor`, then its batches grow again.
    @Test func whatWasLearnedExpires() async throws {
        let tracker = Tracker { hashes in Tracker.everyHash([hashes[0]]) }
        let batcher = ScrapeBatcher(
            eventLoop: MultiThreadedEventLoopGroup.singleton.any(),
            configuration: .init(gather: .seconds(3600), learnedFor: .zero)
        ) { _, hashes in
            tracker.requests.withLock { $0.append(hashes) }
            return try tracker.answer(hashes)
        }
        _ = await Self.scrapeAll(batcher, [1, 2], most: 2)
        #expect(tracker.sizes == [2, 1])
        #expect(batcher.learnedMost(for: Self.url) == nil, "learned for no time at all")
        _ = await Self.scrapeAll(batcher, [3, 4], most: 2)
        #expect(tracker.sizes == [2, 1, 2, 1])
    }

    /// A query refused as too long (HTTP 414): the batch fails, and the next ones carry half as many.
    @Test func aQueryTooLongHalvesTheNextBatches() async throws {
        let tracker = Tracker { hashes in
            guard hashes.count <= 2 else { throw TrackerError.httpStatus(414) }
            return Tracker.everyHash(hashes)
        }
        let batcher = tracker.batcher()
        let failed = await Self.scrapeAll(batcher, [1, 2, 3, 4], most: 4)
        for n: UInt8 in 1...4 { #expect(throws: TrackerError.httpStatus(414)) { try failed[n]?.get() } }
        #expect(batcher.learnedMost(for: Self.url) == 2)
        let outcomes = await Self.scrapeAll(batcher, [1, 2, 3, 4], most: 4)
        for n: UInt8 in 1...4 { #expect(try outcomes[n]?.get() == Self.result(n)) }
        #expect(tracker.sizes == [4, 2, 2])
    }

    /// A tracker that refuses every scrape with 404: each batch costs one request, and teaches nothing.
    @Test func aTrackerRefusingScrapesCostsOneRequestABatch() async throws {
        let tracker = Tracker { _ in throw TrackerError.httpStatus(404) }
        let batcher = tracker.batcher()
        let outcomes = await Self.scrapeAll(batcher, [1, 2, 3], most: 3)
        for n: UInt8 in 1...3 { #expect(throws: TrackerError.httpStatus(404)) { try outcomes[n]?.get() } }
        #expect(tracker.sizes == [3] && batcher.learnedMost(for: Self.url) == nil)
    }

    @Test func anyOtherFailureFailsTheWholeBatch() async throws {
        let tracker = Tracker { _ in throw TrackerError.timedOut }
        let batcher = tracker.batcher()
        let outcomes = await Self.scrapeAll(batcher, [1, 2], most: 2)
        for n: UInt8 in 1...2 {
            #expect(throws: TrackerError.timedOut) { try outcomes[n]?.get() }
        }
        #expect(tracker.sizes == [2] && batcher.waitingCount == 0)
    }

    /// A scrape cancelled while its batch gathers leaves it at once; the batch goes without its hash.
    @Test func aScrapeCancelledWhileGatheringLeavesTheBatch() async throws {
        let tracker = Tracker()
        let batcher = tracker.batcher()
        let cancelled = Task { try await batcher.scrape(url: Self.url, infoHash: Self.hash(1), most: 2) }
        #expect(try await poll(timeout: .seconds(10)) { batcher.waitingCount == 1 })
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(batcher.waitingCount == 0)
        let outcomes = await Self.scrapeAll(batcher, [2, 3], most: 2)
        #expect(try outcomes[2]?.get() == Self.result(2) && outcomes[3]?.get() == Self.result(3))
        #expect(tracker.sizes == [2])
        #expect(!tracker.requests.withLock { $0.joined().contains(Self.hash(1)) })
    }

    /// A scrape cancelled while its request is on its way ends at once; the others wait for the reply.
    @Test func aScrapeCancelledInFlightEndsAtOnce() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let started = Mutex(false)
        let batcher = ScrapeBatcher(
            eventLoop: MultiThreadedEventLoopGroup.singleton.any(), configuration: .init(gather: .seconds(3600))
        ) { _, hashes in
            started.withLock { $0 = true }
            for await _ in gate { break }
            return Tracker.everyHash(hashes)
        }
        let first = Task { try await batcher.scrape(url: Self.url, infoHash: Self.hash(1), most: 2) }
        let second = Task { try await batcher.scrape(url: Self.url, infoHash: Self.hash(2), most: 2) }
        #expect(try await poll(timeout: .seconds(10)) { started.withLock { $0 } })
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        open.yield()
        #expect(try await second.value == Self.result(2))
        #expect(batcher.waitingCount == 0)
    }
}
