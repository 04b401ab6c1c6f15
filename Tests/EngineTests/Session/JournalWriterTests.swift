import Foundation
import TestSupport
import Testing

@testable import Engine

/// The session's side of the journal's writes: a store that fails loses nothing (the batch comes back and
/// goes with a later one), and peer counters are neither lost nor counted twice.
@Suite(.timeLimit(.minutes(5))) struct JournalWriterTests {
    /// A ``MemoryResumeStore`` whose first `failures` batches fail, as a database locked past its busy
    /// timeout does; it sums the peer counters of the batches it takes.
    final class FlakyResumeStore: ResumeStore, @unchecked Sendable {
        // Invariant for @unchecked Sendable: the mutable properties are accessed only with `lock` held.
        private let lock = NSLock()
        private var failuresLeft: Int
        private var peerDownloaded: Int64 = 0
        let inner: MemoryResumeStore

        init(pieceCount: Int, failures: Int) {
            inner = MemoryResumeStore(pieceCount: pieceCount)
            failuresLeft = failures
        }

        var downloadedByPeers: Int64 { lock.withLock { peerDownloaded } }

        struct Locked: Error {}

        func resumeState(torrentId: Int64) throws -> ResumeState? { try inner.resumeState(torrentId: torrentId) }

        func saveProgress(_ batch: ProgressBatch) throws {
            try lock.withLock {
                if failuresLeft > 0 {
                    failuresLeft -= 1
                    throw Locked()
                }
                peerDownloaded += batch.peers.reduce(0) { $0 + $1.downloadedDelta }
            }
            try inner.saveProgress(batch)
        }

        func commitCheckpoint(_ checkpoints: [DurableCheckpoint], at time: Timestamp) throws {
            try inner.commitCheckpoint(checkpoints, at: time)
        }

        func recordFileStats(torrentId: Int64, _ stats: [FileStat]) throws {
            try inner.recordFileStats(torrentId: torrentId, stats)
        }

        func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws {}

        func recordEvents(_ events: [HistoryEvent]) throws { try saveProgress(ProgressBatch(events: events)) }

        func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo) throws {}
    }

    @Test func failedBatchesAreSavedByLaterOnesAndNothingIsCountedTwice() async throws {
        let fixture = SessionFixture(length: 32 * 16_384, pieceLength: 16_384, seed: 31)
        let store = FlakyResumeStore(pieceCount: PieceLayout(fixture.metainfo).pieceCount, failures: 3)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 16_384)
        // About two seconds at 256 KiB/s: many journal intervals, the first three of which fail.
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: ResumeJournalTests.configuration(), resume: store, torrentId: 1,
            limits: TransferLimits(download: RateLimiter(bytesPerSecond: 256 << 10)),
            resumeWriter: ResumeWriter())
        await session.addPeers([seed.address], source: .manual)
        #expect(await session.run() == .completed)
        await seed.close()
        let state = store.inner.snapshot
        #expect(state.verified.isAll)
        #expect(state.totals.downloaded >= Int64(fixture.content.count))
        #expect(store.downloadedByPeers == state.totals.downloaded)
        // The event of the check at start went with a failed batch, and was saved once later.
        #expect(store.inner.events.filter { $0.kind == .checked }.count == 1)
        let report = await session.journalReport()
        #expect(report.contains("3 failed"), "\(report)")
    }
}
