import NIOCore
import NIOPosix
import Testing

@testable import Engine

/// A session's run without a task of its own: ``TorrentSession/start(onEnd:)`` returns once the work is
/// under way, the work goes on (serving and dialling peers) with no task of the caller's waiting, and
/// `onEnd` hears how it ended, once.
@Suite(.timeLimit(.minutes(5))) struct SessionDriveTests {
    @Test func aStartedSeedServesALeecherThatStartedToo() async throws {
        let fixture = SessionFixture(length: 7 * 32_768 + 123, pieceLength: 32_768, seed: 77)
        let registry = SessionRegistry()
        let listener = try await PeerListener.bind(hosts: ["127.0.0.1"], port: 0, registry: registry)
        let accepting = Task { await listener.run() }
        defer {
            listener.close()
            accepting.cancel()
        }
        var configuration = TorrentSessionTests.quickConfiguration()
        configuration.listenPort = listener.port
        let seed = TorrentSession(
            metainfo: fixture.metainfo, storage: try await fixture.filledStorage(), configuration: configuration,
            stopWhenComplete: false)
        registry.add(seed)
        let seedEnding = RunEnding()
        // The task that starts the seed ends once it works: nothing waits in a task for its run.
        await Task { await seed.start { seedEnding.deliver($0) } }.value
        #expect(await seed.core.uploads.acceptingIncoming)
        #expect(seedEnding.ended == nil)

        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let leecher = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: TorrentSessionTests.quickConfiguration())
        let leecherEnding = RunEnding()
        await leecher.addPeers([PeerAddress(parsing: "127.0.0.1:\(listener.port)")!], source: .manual)
        await Task { await leecher.start { leecherEnding.deliver($0) } }.value
        #expect(await leecherEnding.outcome() == .completed)
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)

        #expect(seedEnding.ended == nil, "a seed goes on until stopped")
        await seed.stop()
        // A stopped seed ends complete, as a stopped download ends stopped.
        #expect(await seedEnding.outcome() == .completed)
        #expect(await !seed.core.uploads.acceptingIncoming)
        #expect(await seed.status().uploaded == Int64(fixture.content.count))
    }

    /// A download that is complete when its check ends is over before its work starts: `onEnd` hears it
    /// before ``TorrentSession/start(onEnd:)`` returns.
    @Test func aCompleteDownloadEndsWithinStart() async throws {
        let fixture = SessionFixture(length: 3 * 32_768, pieceLength: 32_768, seed: 78)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: try await fixture.filledStorage(),
            configuration: TorrentSessionTests.quickConfiguration())
        let ending = RunEnding()
        await session.start { ending.deliver($0) }
        #expect(ending.ended == .completed)
    }

    /// Cancelling the task in ``TorrentSession/run()`` stops the session as ``TorrentSession/stop()`` does.
    @Test func cancellingARunStopsIt() async throws {
        let fixture = SessionFixture(length: 3 * 32_768, pieceLength: 32_768, seed: 79)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: TorrentSessionTests.quickConfiguration())
        let run = Task { await session.run() }
        // A download with no peers: it would wait for some forever.
        try await SessionExtensionTests.waitUntil("the download to work") {
            await session.core.uploads.acceptingIncoming
        }
        run.cancel()
        #expect(await run.value == .stopped)
    }

    @Test func anEndingIsHeardOnceWhicheverComesFirst() async {
        let early = RunEnding()
        early.deliver(.completed)
        early.deliver(.stopped)
        #expect(early.ended == .completed)
        #expect(await early.outcome() == .completed)

        let late = RunEnding()
        async let outcome = late.outcome()
        late.deliver(.failed("disk full"))
        #expect(await outcome == .failed("disk full"))
    }
}
