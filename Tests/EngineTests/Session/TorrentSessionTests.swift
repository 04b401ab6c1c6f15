import NIOCore
import TestSupport
import Testing

@testable import Engine

/// The session end to end inside the process: real sockets on 127.0.0.1, fake seeding peers, storage
/// in memory.
@Suite(.timeLimit(.minutes(5))) struct TorrentSessionTests {
    static func quickConfiguration() -> SessionConfiguration {
        var configuration = SessionConfiguration(
            listenPort: 1, tickInterval: .milliseconds(50), reconnectDelay: .milliseconds(100))
        configuration.failedReconnectDelay = .milliseconds(100)
        return configuration
    }

    @Test func downloadsFromOneSeed() async throws {
        let fixture = SessionFixture(length: 3 * 65_536 + 1_000, pieceLength: 65_536)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 65_536)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.quickConfiguration())
        await session.addPeers([seed.address], source: .manual)
        let outcome = await session.run()
        await seed.close()
        #expect(outcome == .completed)
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
        let status = await session.status()
        #expect(status.isComplete)
        #expect(status.downloaded == Int64(fixture.content.count))
        #expect(status.wasted == 0)
    }

    /// The run's loop acts on events, not only on its ticks: with an hour between ticks, a peer added
    /// while it runs is dialled at once, and the finished download ends the run at once.
    @Test(.timeLimit(.minutes(1))) func peersAddedWhileRunningAreDialledWithoutWaitingForATick() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 5)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 32_768)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage,
            configuration: SessionConfiguration(listenPort: 1, tickInterval: .seconds(3600)))
        async let outcome = session.run()
        await session.started()
        await session.addPeers([seed.address], source: .manual)
        #expect(await outcome == .completed)
        await seed.close()
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
    }

    /// A torrent with nobody to talk to rests: its ticks and its journal wait for something to do rather
    /// than wake every interval; a peer added then wakes it and it downloads as usual.
    @Test(.timeLimit(.minutes(1))) func anIdleSessionRestsUntilAPeerIsAdded() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 6)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 32_768)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage,
            configuration: SessionConfiguration(
                listenPort: 1, tickInterval: .milliseconds(20), journalInterval: .milliseconds(10)))
        async let outcome = session.run()
        await session.started()
        #expect(try await poll(timeout: .seconds(20)) { session.rests.ticks?.isResting == true })
        #expect(try await poll(timeout: .seconds(20)) { session.rests.journal?.isResting == true })
        await session.addPeers([seed.address], source: .manual)
        #expect(await outcome == .completed)
        await seed.close()
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
    }

    /// File priorities changed while it runs reach its picker at once: skipping the one file it still
    /// wants leaves nothing to download, and the run ends complete without waiting out the tick interval.
    @Test(.timeLimit(.minutes(1))) func filePrioritiesChangedWhileRunningAreFollowed() async throws {
        let fixture = SessionFixture(length: 40_000, pieceLength: 16_384)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: SessionConfiguration(listenPort: 1, tickInterval: .seconds(3600)))
        async let outcome = session.run()
        await session.started()
        #expect(await !session.status().isComplete)
        await session.setDownloadOrder(.sequential)
        await session.setFilePriorities([.skip])
        #expect(await outcome == .completed)
        #expect(await session.status().isComplete)
    }

    /// ``TorrentSession/stop()`` ends a run that has nothing to do without waiting out the tick interval.
    @Test(.timeLimit(.minutes(1))) func stopEndsTheRunWithoutWaitingForATick() async throws {
        let fixture = SessionFixture(length: 40_000, pieceLength: 16_384)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: SessionConfiguration(listenPort: 1, tickInterval: .seconds(3600)))
        async let outcome = session.run()
        await session.started()
        await session.stop()
        #expect(await outcome == .stopped)
    }

    /// Started ahead of its download slot (``SessionConfiguration/holdsAfterStartCheck``), a session checks
    /// what it has and waits: callers of ``TorrentSession/started()`` hear the check is done, yet it accepts
    /// no peer and dials none (a seed was added before it ran) until told to go on; then it downloads.
    @Test(.timeLimit(.minutes(1))) func aSessionHeldAfterItsStartCheckWorksOnlyOnceToldToGoOn() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 7)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 32_768)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        var configuration = Self.quickConfiguration()
        configuration.holdsAfterStartCheck = true
        let session = TorrentSession(metainfo: fixture.metainfo, storage: storage, configuration: configuration)
        await session.addPeers([seed.address], source: .manual)
        async let outcome = session.run()
        await session.started()
        let held = await session.status()
        #expect(!held.isStarting && !held.isComplete && held.peers == 0)
        #expect(await session.core.uploads.acceptingIncoming == false)
        await session.goOn()
        #expect(await session.worksPastStartCheck())
        #expect(await outcome == .completed)
        await seed.close()
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
    }

    /// A session held after its start check and then stopped ends without working: it never goes on.
    @Test(.timeLimit(.minutes(1))) func aHeldSessionThatIsStoppedEndsWithoutWorking() async throws {
        let fixture = SessionFixture(length: 40_000, pieceLength: 16_384)
        var configuration = SessionConfiguration(listenPort: 1, tickInterval: .seconds(3600))
        configuration.holdsAfterStartCheck = true
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: configuration)
        async let outcome = session.run()
        await session.started()
        await session.stop()
        #expect(await outcome == .stopped)
        #expect(await session.worksPastStartCheck() == false)
        await session.goOn()
        #expect(await session.worksPastStartCheck() == false, "the first decision stands")
    }

    @Test func twoPartialSeedsMakeAWhole() async throws {
        let fixture = SessionFixture(length: 8 * 32_768, pieceLength: 32_768, seed: 11)
        let hash = fixture.metainfo.infoHashes.wireHash
        let even = try await FakeSeed(
            infoHash: hash, content: fixture.content, pieceLength: 32_768, pieces: [0, 2, 4, 6])
        let odd = try await FakeSeed(
            infoHash: hash, content: fixture.content, pieceLength: 32_768, pieces: [1, 3, 5, 7])
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.quickConfiguration())
        await session.addPeers([even.address, odd.address], source: .manual)
        let outcome = await session.run()
        await even.close()
        await odd.close()
        #expect(outcome == .completed)
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
    }

    @Test func corruptPiecesAreRefetchedAndTheLiarBanned() async throws {
        let fixture = SessionFixture(length: 6 * 32_768, pieceLength: 32_768, seed: 13)
        let hash = fixture.metainfo.infoHashes.wireHash
        let liar = try await FakeSeed(
            infoHash: hash, content: fixture.content, pieceLength: 32_768, corrupt: Set(0..<6))
        let honest = try await FakeSeed(infoHash: hash, content: fixture.content, pieceLength: 32_768)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.quickConfiguration())
        // The liar alone first, so it is the one asked; the honest seed joins once the liar is banned.
        await session.addPeers([liar.address], source: .manual)
        async let outcome = session.run()
        // Generous: on a loaded machine the whole suite shares two cores.
        try await poll(timeout: .seconds(60), interval: .milliseconds(5)) { await !session.bannedAddresses().isEmpty }
        #expect(await session.bannedAddresses() == [liar.address])
        await session.addPeers([honest.address], source: .manual)
        #expect(await outcome == .completed)
        await liar.close()
        await honest.close()
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
        #expect(await session.bannedAddresses() == [liar.address])
        #expect(await session.status().wasted >= 32_768)
    }

    @Test func nothingToDoWhenStoppedBeforeAnyPeer() async throws {
        let fixture = SessionFixture(length: 40_000, pieceLength: 16_384)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.quickConfiguration())
        async let outcome = session.run()
        await session.stop()
        #expect(await outcome == .stopped)
    }
}
