import Testing

@testable import Engine

/// The progress journal as a value: what goes into a batch, what a batch's outcome does, what a checkpoint
/// vouches for, and what a failed sync takes back.
@Suite struct ProgressJournalTests {
    /// Four pieces of two blocks each.
    static let layout = PieceLayout(pieceLength: 32_768, totalLength: 4 * 32_768)

    static func peer(_ port: Int, downloaded: Int64 = 0, banned: Bool? = nil, client: String? = nil) -> PeerUpdate {
        PeerUpdate(
            torrentId: 1, address: "127.0.0.1", port: port, client: client, source: .manual,
            downloadedDelta: downloaded, banned: banned)
    }

    static func mask(_ pattern: String) -> Bitfield { Bitfield(pattern: pattern)! }

    @Test func nothingChangedMakesNoBatch() {
        var journal = ProgressJournal(pieceCount: 4)
        #expect(journal.takeBatch(torrentId: 1, masks: [:], isVerified: { _ in false }) == nil)
        #expect(journal.inFlight == nil)
    }

    @Test func aBatchTakesEverythingUnsavedAndOnlyOneIsInFlight() throws {
        var journal = ProgressJournal(pieceCount: 4)
        journal.unsavedPieces[0] = true
        journal.record(HistoryEvent(torrentId: 1, kind: .started))
        journal.record(TrackerStatus(url: "http://t/announce", tier: 0, seeders: 3))
        journal.record(Self.peer(1, downloaded: 16_384))
        let stat = FileStat(index: FileIndex(0), size: 10, modificationTimeNanoseconds: 5)
        let batch = try journal.take(
            [1: Self.mask("10")], verified: { $0 == 0 }, totals: TransferTotals(downloaded: 40_000), stats: [stat])
        let progress = try #require(batch.torrents.first)
        #expect(progress.pieces == [0: true])
        #expect(progress.blockMasks == [1: Self.mask("10")])
        #expect(progress.transferred.downloaded == 40_000)
        #expect(progress.fileStats == [stat])
        #expect(batch.events.map(\.kind) == [.started])
        #expect(batch.trackers.map(\.seeders) == [3])
        #expect(batch.peers.map(\.downloadedDelta) == [16_384])
        // Changes made while it is written wait for the next batch.
        journal.unsavedPieces[2] = true
        #expect(journal.takeBatch(torrentId: 1, masks: [:], isVerified: { _ in false }) == nil)
        #expect(journal.unsavedPieces == [2: true])
        journal.batchSaved()
        #expect(journal.journaledVerified.description == "1000")
        #expect(journal.journaledMasks == [1: Self.mask("10")])
        #expect(journal.statistics.transactions == 1)
        let next = try journal.take(
            [1: Self.mask("10")], verified: { $0 == 0 || $0 == 2 }, totals: TransferTotals(downloaded: 40_500))
        // The mask the store has is not sent again; the counters go as what they grew.
        #expect(next.torrents.first?.pieces == [2: true])
        #expect(next.torrents.first?.transferred == TransferTotals(downloaded: 500))
        #expect(next.torrents.first?.blockMasks == [:])
        #expect(next.peers.isEmpty && next.events.isEmpty && next.trackers.isEmpty)
    }

    @Test func countersRestoredFromTheStoreAreNotSavedAgain() throws {
        var journal = ProgressJournal(pieceCount: 4)
        let recorded = TransferTotals(downloaded: 1_000, uploaded: 300, wasted: 20)
        journal.restore(
            verified: Bitfield(count: 4), masks: [:],
            durable: DurableCheckpoint(torrentId: 1, verified: Bitfield(count: 4)),
            totals: recorded)
        #expect(journal.takeBatch(torrentId: 1, masks: [:], isVerified: { _ in false }, totals: recorded) == nil)
        let batch = try journal.take(
            [:], verified: { _ in false }, totals: TransferTotals(downloaded: 1_100, uploaded: 300, wasted: 24))
        #expect(batch.torrents.first?.transferred == TransferTotals(downloaded: 100, wasted: 4))
    }

    @Test func peerRecordsFoldIntoOnePerAddress() throws {
        var journal = ProgressJournal(pieceCount: 4)
        journal.record(Self.peer(1, downloaded: 100, client: "A"))
        journal.record(Self.peer(1, downloaded: 50, banned: true))
        journal.record(Self.peer(1, downloaded: 7))
        journal.record(Self.peer(2, downloaded: 1))
        let batch = try journal.take([:], verified: { _ in false })
        #expect(batch.peers.count == 2)
        let first = try #require(batch.peers.first { $0.port == 1 })
        #expect(first.downloadedDelta == 157)
        #expect(first.banned == true)
        #expect(first.client == "A")
    }

    @Test func aFailedBatchIsMergedBackUnderWhatChangedSince() throws {
        var journal = ProgressJournal(pieceCount: 4)
        journal.unsavedPieces[0] = true
        journal.unsavedPieces[1] = true
        journal.record(HistoryEvent(torrentId: 1, kind: .started))
        journal.record(TrackerStatus(url: "http://t/announce", tier: 0, seeders: 3))
        journal.record(Self.peer(1, downloaded: 100, client: "old"))
        journal.record([FileStat(index: FileIndex(0), size: 1, modificationTimeNanoseconds: 1)])
        _ = try journal.take([3: Self.mask("01")], verified: { $0 < 2 }, totals: TransferTotals(downloaded: 10))
        // While the store is locked: a newer verdict, counters, an event, a newer tracker state and file time.
        journal.unsavedPieces[1] = false
        journal.record(HistoryEvent(torrentId: 1, kind: .completed))
        journal.record(TrackerStatus(url: "http://t/announce", tier: 0, seeders: 9))
        journal.record(Self.peer(1, downloaded: 1, client: "new"))
        journal.record([FileStat(index: FileIndex(0), size: 2, modificationTimeNanoseconds: 2)])
        journal.batchFailed()
        #expect(journal.inFlight == nil)
        #expect(journal.statistics.failedTransactions == 1)
        #expect(journal.journaledVerified.isNone && journal.journaledMasks.isEmpty)
        let retry = try journal.take(
            [3: Self.mask("01")], verified: { $0 == 0 }, totals: TransferTotals(downloaded: 15))
        let progress = try #require(retry.torrents.first)
        #expect(progress.pieces == [0: true, 1: false])
        #expect(progress.blockMasks == [3: Self.mask("01")])
        #expect(progress.transferred.downloaded == 15)
        #expect(progress.fileStats.map(\.size) == [2])
        #expect(retry.events.map(\.kind) == [.started, .completed])
        #expect(retry.trackers.map(\.seeders) == [9])
        #expect(retry.peers.map(\.downloadedDelta) == [101])
        #expect(retry.peers.first?.client == "new")
    }

    @Test func aMaskIsClearedWhenItsPieceIsNeitherUnfinishedNorVerified() throws {
        var journal = ProgressJournal(pieceCount: 4)
        _ = try journal.take([2: Self.mask("10")], verified: { _ in false })
        journal.batchSaved()
        // Piece 2 failed its hash: its blocks are gone.
        let cleared = try journal.take([:], verified: { _ in false })
        #expect(cleared.torrents.first?.blockMasks == [2: Self.mask("00")])
        journal.batchSaved()
        #expect(journal.journaledMasks.isEmpty)
        // A verified piece's mask goes with the verdict: nothing to clear.
        _ = journal.takeBatch(torrentId: 1, masks: [3: Self.mask("10")], isVerified: { _ in false })
        journal.batchSaved()
        journal.unsavedPieces[3] = true
        let verified = try journal.take([:], verified: { $0 == 3 })
        #expect(verified.torrents.first?.blockMasks == [:])
        journal.batchSaved()
        #expect(journal.journaledMasks.isEmpty && journal.journaledVerified.description == "0001")
    }

    @Test func aCheckpointVouchesForWhatTheStoreHas() throws {
        var journal = ProgressJournal(pieceCount: 4)
        #expect(journal.checkpointSnapshot(torrentId: 1)?.verified.isNone == true)
        journal.unsavedPieces[0] = true
        _ = journal.takeBatch(torrentId: 1, masks: [1: Self.mask("01")], isVerified: { $0 == 0 })
        // Not committed yet: not vouched for.
        #expect(journal.checkpointSnapshot(torrentId: 1)?.verified.isNone == true)
        journal.batchSaved()
        let snapshot = try #require(journal.checkpointSnapshot(torrentId: 1))
        #expect(snapshot.verified.description == "1000")
        #expect(snapshot.blockMasks == [1: Self.mask("01")])
        journal.checkpointCommitted(snapshot, time: .milliseconds(3))
        #expect(journal.checkpointSnapshot(torrentId: 1) == nil)
        #expect(journal.statistics.checkpoints == 1)
    }

    @Test func aFailedSyncTakesTheJournalBackToTheCheckpoint() throws {
        var journal = ProgressJournal(pieceCount: 4)
        journal.restore(
            verified: Self.mask("1100"), masks: [2: Self.mask("10")],
            durable: DurableCheckpoint(torrentId: 1, verified: Self.mask("1000")))
        journal.unsavedPieces[3] = true
        let taken = journal.loseDurability(torrentId: 1, layout: Self.layout)
        let (batch, rollback) = try #require(taken)
        #expect(journal.durabilityLost)
        let progress = try #require(batch.torrents.first)
        #expect(progress.pieces == [1: false, 3: false])
        #expect(progress.blockMasks[1] == Self.mask("11") && progress.blockMasks[3] == Self.mask("11"))
        #expect(progress.blockMasks[2] == Self.mask("00"))
        journal.rollbackSaved(rollback)
        #expect(journal.journaledVerified.description == "1000")
        #expect(journal.unsavedPieces.isEmpty)
        #expect(journal.checkpointSnapshot(torrentId: 1) == nil)
        // From now on no new progress is recorded; a piece found bad still is.
        journal.unsavedPieces[2] = true
        journal.unsavedPieces[0] = false
        let after = try journal.take([2: Self.mask("01")], verified: { _ in false })
        #expect(after.torrents.first?.pieces == [0: false])
        #expect(after.torrents.first?.blockMasks == [:])
    }
}

extension ProgressJournal {
    /// The next batch of torrent 1, which must not be empty.
    fileprivate mutating func take(
        _ masks: [PieceIndex: Bitfield], verified: (PieceIndex) -> Bool, totals: TransferTotals = TransferTotals(),
        stats: [FileStat] = []
    ) throws -> ProgressBatch {
        let batch = takeBatch(torrentId: 1, masks: masks, isVerified: verified, totals: totals, stats: stats)
        return try #require(batch)
    }
}
