import Foundation
import Glibc
import TestSupport
import Testing

@testable import Engine

/// The durable order under faults (DESIGN.md, persistence invariant 3): a checkpoint vouches only for
/// what was journaled before its sync started, and a failed sync is never counted as done. Syncs are
/// failed or held by ``FaultyStorage``; the order of events is forced with gates, not timing.
@Suite(.timeLimit(.minutes(5))) struct DurableOrderTests {
    @Test func aFailedSyncIsNeverCountedAsDone() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 31)
        let layout = PieceLayout(fixture.metainfo)
        let memory = MemoryStorage(metainfo: fixture.metainfo)
        let storage = FaultyStorage(memory)
        storage.failNextSync()
        let store = MemoryResumeStore(pieceCount: layout.pieceCount)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 32_768)
        let first = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: ResumeJournalTests.configuration(),
            resume: store, torrentId: 1)
        await first.addPeers([seed.address], source: .manual)
        let outcome = await first.run()
        // The sync failed once (as Linux reports a failed write-back once): the torrent stops with the error
        // though a later sync would succeed, and no checkpoint is ever committed.
        guard case .failed(let reason) = outcome else {
            Issue.record("a failed sync ended the download as \(outcome)")
            await seed.close()
            return
        }
        #expect(reason.contains("sync"))
        #expect(store.snapshot.checkpointAt == nil)
        #expect(store.snapshot.durableVerified?.isNone ?? true)
        // What was verified before the failure is recorded as unverified, with all its blocks written.
        #expect(store.snapshot.verified.isNone)
        let written = store.snapshot.blockMasks.filter { $0.value.isAll }.keys
        #expect(!written.isEmpty)

        // The next start, on a sound device, hashes those pieces from the files and fetches the rest.
        let before = store.snapshot.totals.downloaded
        let second = TorrentSession(
            metainfo: fixture.metainfo, storage: memory, configuration: ResumeJournalTests.configuration(),
            resume: store, torrentId: 1)
        await second.addPeers([seed.address], source: .manual)
        #expect(await second.run() == .completed)
        await seed.close()
        #expect(await second.bytesReadAtStart == Int64(written.count * 32_768))
        #expect(await second.status().downloaded - before == Int64((4 - written.count) * 32_768))
        #expect(await memory.contents(of: FileIndex(0)) == fixture.content)
        #expect(store.snapshot.verified.isAll)
        #expect(store.snapshot.durableVerified == store.snapshot.verified)
    }

    @Test func whatIsJournaledDuringASyncIsNotVouchedForByIt() async throws {
        let fixture = SessionFixture(length: 6 * 65_536, pieceLength: 65_536, seed: 32)
        let layout = PieceLayout(fixture.metainfo)
        let hash = fixture.metainfo.infoHashes.wireHash
        let memory = MemoryStorage(metainfo: fixture.metainfo)
        let storage = FaultyStorage(memory)
        storage.holdSyncs()
        let store = MemoryResumeStore(pieceCount: layout.pieceCount)
        let stingy = try await FakeSeed(infoHash: hash, content: fixture.content, pieceLength: 65_536, blockBudget: 5)
        let seed = try await FakeSeed(infoHash: hash, content: fixture.content, pieceLength: 65_536)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: ResumeJournalTests.configuration(),
            resume: store, torrentId: 1)
        await session.addPeers([stingy.address], source: .manual)
        async let outcome = session.run()

        // The first checkpoint's sync is held; meanwhile more arrives and is journaled.
        await storage.waitForHeldSync()
        let before = ResumeJournalTests.recordedBytes(store.snapshot, layout: layout)
        await session.addPeers([seed.address], source: .manual)
        #expect(
            try await poll(timeout: .seconds(60), interval: .milliseconds(10)) { await session.status().isComplete })
        await session.saveProgressNow()
        let latest = store.snapshot
        #expect(ResumeJournalTests.recordedBytes(latest, layout: layout) == fixture.content.count)
        #expect(before < fixture.content.count)
        let recordedAt = try #require(latest.recordedAt)
        // The clock moves past that record before the checkpoint commits.
        while Timestamp.now <= recordedAt { await Task.yield() }
        storage.releaseSyncs(holdingLater: true)
        #expect(
            try await poll(timeout: .seconds(60), interval: .milliseconds(10)) { store.snapshot.checkpointAt != nil })

        // The checkpoint holds its snapshot, taken before the sync, and bears that time: what was recorded
        // during the sync is newer, so a power loss now would have it distrusted.
        let committed = store.snapshot
        let checkpointAt = try #require(committed.checkpointAt)
        #expect(checkpointAt <= recordedAt)
        var durable = committed
        durable.verified = committed.durableVerified ?? Bitfield(count: layout.pieceCount)
        durable.blockMasks = committed.durableBlockMasks
        #expect(ResumeJournalTests.recordedBytes(durable, layout: layout) <= before)
        let crash = ResumePolicy.UncleanStop(
            bootId: "earlier boot", startedAt: Timestamp(rawValue: 0), lastSeenAt: checkpointAt)
        let policy = ResumePolicy(bootId: "this boot", uncleanStops: [crash])
        #expect(policy.distrustsLatestProgress(checkpointAt: checkpointAt, recordedAt: committed.recordedAt))

        storage.releaseSyncs()
        #expect(await outcome == .completed)
        await stingy.close()
        await seed.close()
        #expect(store.snapshot.durableVerified?.isAll == true)
        #expect(await memory.contents(of: FileIndex(0)) == fixture.content)
    }
}
