import Engine
import Foundation
import GRDB
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct ResumeTests {
    /// Torrent 1: 10 pieces of 16 KiB, the last one 16,284 bytes (100 short), files of 100,000 and 63,740.
    static func store() throws -> BtqStore {
        let store = try BtqStore.inMemory()
        _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1, fileLengths: [100_000, 63_740])))
        return store
    }

    @Test func newTorrentHasAnEmptyResumeState() throws {
        let store = try Self.store()
        let state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.verified == Bitfield(count: 10))
        #expect(state.durableVerified == nil && state.blockMasks.isEmpty && state.files.isEmpty)
        #expect(state.totals == TransferTotals())
        #expect(try store.progress.resumeState(torrentId: 2) == nil)
    }

    @Test func progressBatchesRoundTrip() throws {
        let store = try Self.store()
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(
                    torrentId: 1, pieces: [0: true, 3: true, 9: true],
                    blockMasks: [1: Bitfield(pattern: "1100")!, 2: Bitfield(pattern: "0010")!],
                    transferred: TransferTotals(downloaded: 70_000, uploaded: 10, wasted: 5))
            ]))
        var state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.verified.description == "1001000001")
        #expect(state.blockMasks == [1: Bitfield(pattern: "1100")!, 2: Bitfield(pattern: "0010")!])
        #expect(state.totals == TransferTotals(downloaded: 70_000, uploaded: 10, wasted: 5))
        var record = try #require(try store.queries.torrent(id: 1))
        #expect(record.piecesDone == 3)
        #expect(record.bytesDone == 2 * 16_384 + 16_284)
        #expect(record.downloaded == 70_000 && record.uploaded == 10 && record.wasted == 5)

        // Piece 1 completes (its mask goes), piece 2 gains a block, piece 3 fails a recheck, piece 4 starts.
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(
                    torrentId: 1, pieces: [1: true, 3: false],
                    blockMasks: [
                        1: Bitfield(pattern: "1111")!, 2: Bitfield(pattern: "0110")!, 4: Bitfield(pattern: "1000")!,
                    ],
                    transferred: TransferTotals(downloaded: 1_000))
            ]))
        state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.verified.description == "1100000001")
        #expect(state.blockMasks == [2: Bitfield(pattern: "0110")!, 4: Bitfield(pattern: "1000")!])
        #expect(state.totals.downloaded == 71_000)
        record = try #require(try store.queries.torrent(id: 1))
        #expect(record.piecesDone == 3 && record.bytesDone == 2 * 16_384 + 16_284)
        #expect(abs(record.progress - Double(2 * 16_384 + 16_284) / 163_740) < 1e-12)

        // An empty mask deletes the piece's record.
        try store.progress.saveProgress(
            ProgressBatch(torrents: [TorrentProgress(torrentId: 1, blockMasks: [4: Bitfield(count: 4)])]))
        #expect(try store.progress.resumeState(torrentId: 1)?.blockMasks.keys.sorted() == [2])

        // Per-file verified bytes: file 0 holds pieces 0...6 (100,000 bytes), file 1 the rest.
        let files = try store.queries.files(torrentId: 1)
        #expect(files.map(\.bytesDone) == [2 * 16_384, 16_284])
    }

    @Test func aBadBatchWritesNothing() throws {
        let store = try Self.store()
        let error = #expect(throws: StoreError.self) {
            try store.progress.saveProgress(
                ProgressBatch(
                    torrents: [TorrentProgress(torrentId: 1, pieces: [0: true, 10: true])],
                    events: [HistoryEvent(torrentId: 1, kind: .checked)]))
        }
        #expect(error?.code == .invalidValue)
        #expect(try store.progress.resumeState(torrentId: 1)?.verified.isNone == true)
        #expect(try store.queries.events(torrentId: 1).map(\.kind) == ["added"])
    }

    @Test func batchesForPurgedTorrentsAreSkipped() throws {
        let store = try Self.store()
        try store.progress.saveProgress(
            ProgressBatch(
                torrents: [TorrentProgress(torrentId: 5, pieces: [0: true])],
                peers: [PeerUpdate(torrentId: 5, address: "127.0.0.1", port: 1, source: .pex)],
                trackers: [TrackerUpdate(torrentId: 5, url: "http://127.0.0.1/")]))
        #expect(try store.queries.peers(torrentId: 5).isEmpty)
    }

    @Test func checkpointsKeepTheDurableView() throws {
        let store = try Self.store()
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(torrentId: 1, pieces: [0: true], blockMasks: [1: Bitfield(pattern: "1000")!])
            ]))
        // The snapshot journaled before the sync; progress journaled during the sync is not in it.
        let snapshot = DurableCheckpoint(
            torrentId: 1, verified: Bitfield(pattern: "1000000000")!, blockMasks: [1: Bitfield(pattern: "1000")!])
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(torrentId: 1, pieces: [2: true], blockMasks: [1: Bitfield(pattern: "1100")!])
            ]))
        try store.progress.commitCheckpoint([snapshot], at: Timestamp(rawValue: 42))
        let state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.checkpointAt == Timestamp(rawValue: 42))
        #expect(state.verified.description == "1010000000")
        #expect(state.durableVerified?.description == "1000000000")
        #expect(state.blockMasks[1]?.description == "1100")
        #expect(state.durableBlockMasks == [1: Bitfield(pattern: "1000")!])
    }

    @Test func theLastRecordTimeIsKeptApartFromTheCheckpointTime() throws {
        let store = try Self.store()
        #expect(try store.progress.resumeState(torrentId: 1)?.recordedAt == nil)
        let before = Timestamp.now
        try store.progress.saveProgress(
            ProgressBatch(torrents: [TorrentProgress(torrentId: 1, blockMasks: [1: Bitfield(pattern: "1000")!])]))
        let masked = try #require(try store.progress.resumeState(torrentId: 1)?.recordedAt)
        #expect(masked >= before && masked <= Timestamp.now)
        // A checkpoint whose snapshot was taken after that record: the record time stays before it (the new
        // bitfield row it writes is dated just before it).
        let checkpointAt = Timestamp(rawValue: masked.rawValue + 1)
        try store.progress.commitCheckpoint(
            [
                DurableCheckpoint(
                    torrentId: 1, verified: Bitfield(count: 10), blockMasks: [1: Bitfield(pattern: "1000")!])
            ],
            at: checkpointAt)
        var state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.checkpointAt == checkpointAt)
        #expect(try #require(state.recordedAt) < checkpointAt)
        // A verified piece recorded later is newer than the checkpoint; the checkpoint time does not move.
        while Timestamp.now <= checkpointAt {}
        try store.progress.saveProgress(ProgressBatch(torrents: [TorrentProgress(torrentId: 1, pieces: [0: true])]))
        state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.checkpointAt == checkpointAt)
        #expect(try #require(state.recordedAt) > checkpointAt)
    }

    @Test func aCheckpointDropsDurableMasksItDoesNotVouchFor() throws {
        let store = try Self.store()
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(
                    torrentId: 1, blockMasks: [1: Bitfield(pattern: "1000")!, 3: Bitfield(pattern: "0100")!])
            ]))
        try store.progress.commitCheckpoint(
            [
                DurableCheckpoint(
                    torrentId: 1, verified: Bitfield(count: 10), blockMasks: [1: Bitfield(pattern: "1000")!])
            ],
            at: Timestamp(rawValue: 1))
        try store.progress.commitCheckpoint(
            [
                DurableCheckpoint(
                    torrentId: 1, verified: Bitfield(count: 10), blockMasks: [3: Bitfield(pattern: "0100")!])
            ],
            at: Timestamp(rawValue: 2))
        let state = try #require(try store.progress.resumeState(torrentId: 1))
        #expect(state.durableBlockMasks == [3: Bitfield(pattern: "0100")!])
        #expect(state.durableVerified == Bitfield(count: 10))
        #expect(throws: StoreError.self) {
            try store.progress.commitCheckpoint(
                [DurableCheckpoint(torrentId: 1, verified: Bitfield(count: 3))], at: Timestamp(rawValue: 3))
        }
    }

    @Test func fileStatsGoInTheSameTransactionAsProgress() throws {
        let store = try Self.store()
        let stat = FileStat(index: 0, size: 100_000, modificationTimeNanoseconds: 1_700_000_000_000_000_001)
        try store.progress.saveProgress(
            ProgressBatch(torrents: [TorrentProgress(torrentId: 1, pieces: [0: true], fileStats: [stat])]))
        #expect(try store.progress.resumeState(torrentId: 1)?.files == [stat])
    }

    @Test func fileStatsRoundTrip() throws {
        let store = try Self.store()
        let stats = [
            FileStat(index: 0, size: 100_000, modificationTimeNanoseconds: 1_700_000_000_123_456_789),
            FileStat(index: 1, size: 5, modificationTimeNanoseconds: -1),
        ]
        try store.progress.recordFileStats(
            torrentId: 1, stats + [FileStat(index: 7, size: 1, modificationTimeNanoseconds: 0)])
        #expect(try store.progress.resumeState(torrentId: 1)?.files == stats)
    }

    @Test func peerHistoryAccumulates() throws {
        let store = try Self.store()
        let peerId = Array("-qB4650-abcdefghijkl".utf8)
        try store.progress.upsertPeers([
            PeerUpdate(
                torrentId: 1, address: "127.0.0.1", port: 6881, source: .tracker, seenAt: Timestamp(rawValue: 1_000),
                downloadedDelta: 100)
        ])
        try store.progress.upsertPeers([
            PeerUpdate(
                torrentId: 1, address: "127.0.0.1", port: 6881, peerId: peerId, client: "qBittorrent 4.6.5",
                source: .pex, seenAt: Timestamp(rawValue: 5_000), downloadedDelta: 50, uploadedDelta: 7,
                hashFailuresDelta: 1, banned: true),
            PeerUpdate(
                torrentId: 1, address: "::1", port: 51413, source: .incoming, seenAt: Timestamp(rawValue: 2_000)),
        ])
        let peers = try store.queries.peers(torrentId: 1)
        #expect(peers.map(\.address) == ["127.0.0.1", "::1"])
        let peer = peers[0]
        #expect(peer.source == "tracker" && peer.client == "qBittorrent 4.6.5")
        #expect(peer.peerId == HexCoding.encode(peerId))
        #expect(peer.downloaded == 150 && peer.uploaded == 7 && peer.hashFailures == 1 && peer.isBanned)
        #expect(peer.firstSeenAt == Date(timeIntervalSince1970: 1) && peer.lastSeenAt == Date(timeIntervalSince1970: 5))
        #expect(throws: StoreError.self) {
            try store.progress.upsertPeers([PeerUpdate(torrentId: 1, address: "127.0.0.1", port: 0, source: .dht)])
        }
    }

    @Test func trackerStatesUpdateAndAppend() throws {
        let store = try Self.store()
        try store.progress.saveTrackerStates([
            TrackerUpdate(
                torrentId: 1, url: "http://127.0.0.1:6969/announce", lastAnnounceAt: Timestamp(rawValue: 1_000),
                nextAnnounceAt: Timestamp(rawValue: 1_801_000), seeders: 3, leechers: 4, completed: 5,
                trackerId: "abc"),
            TrackerUpdate(torrentId: 1, url: "udp://127.0.0.1:7000", lastError: "connection refused"),
        ])
        let trackers = try store.queries.trackers(torrentId: 1)
        #expect(trackers.map(\.url) == ["http://127.0.0.1:6969/announce", "udp://127.0.0.1:7000"])
        #expect(trackers.map(\.tier) == [0, 1])
        #expect(trackers[0].seeders == 3 && trackers[0].leechers == 4 && trackers[0].completed == 5)
        #expect(trackers[0].trackerId == "abc" && trackers[0].lastError == nil)
        #expect(trackers[0].nextAnnounceAt == Date(timeIntervalSince1970: 1_801))
        #expect(trackers[1].lastError == "connection refused")
    }

    @Test func scrapeStatesAreKeptAndCountsSurviveAnAnswerWithout() throws {
        let store = try Self.store()
        let url = "udp://127.0.0.1:7000"
        try store.progress.saveTrackerStates([
            TrackerUpdate(
                torrentId: 1, url: url, seeders: 3, leechers: 4, completed: 5,
                lastScrapeAt: Timestamp(rawValue: 2_000))
        ])
        // A new run's first announce (UDP: no `downloaded`) and a failed scrape: the counts it did not
        // give and the time of the last scrape that answered stay; the scrape error is recorded.
        try store.progress.saveTrackerStates([
            TrackerUpdate(torrentId: 1, url: url, seeders: 6, leechers: 1, scrapeError: "tracker did not answer")
        ])
        var tracker = try #require(try store.queries.trackers(torrentId: 1).first { $0.url == url })
        #expect(tracker.seeders == 6 && tracker.leechers == 1 && tracker.completed == 5)
        #expect(tracker.lastScrapeAt == Date(timeIntervalSince1970: 2))
        #expect(tracker.scrapeError == "tracker did not answer")
        try store.progress.saveTrackerStates([
            TrackerUpdate(
                torrentId: 1, url: url, seeders: 7, leechers: 0, completed: 9, lastScrapeAt: Timestamp(rawValue: 3_000))
        ])
        tracker = try #require(try store.queries.trackers(torrentId: 1).first { $0.url == url })
        #expect(tracker.completed == 9 && tracker.scrapeError == nil)
        #expect(tracker.lastScrapeAt == Date(timeIntervalSince1970: 3))
        #expect(try store.queries.swarmCounts()[1] == SwarmCounts(seeders: 7, leechers: 0, completed: 9))
    }

    @Test func swarmCountsAreTheLargestAnyTrackerReported() throws {
        let store = try Self.store()
        try store.progress.saveTrackerStates([
            TrackerUpdate(torrentId: 1, url: "http://127.0.0.1:1/announce", seeders: 3, leechers: 9),
            TrackerUpdate(torrentId: 1, url: "http://127.0.0.1:2/announce", seeders: 5, leechers: 2, completed: 4),
            TrackerUpdate(torrentId: 1, url: "http://127.0.0.1:3/announce", lastError: "refused"),
        ])
        let counts = try store.queries.swarmCounts()
        #expect(counts == [1: SwarmCounts(seeders: 5, leechers: 9, completed: 4)])
    }

    @Test func aMagnetHasNoPiecesToVerify() throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(NewTorrent(source: .magnet(Fixtures.magnet(seed: 1)), saveDirectory: "/d")).record
            .id
        #expect(try store.progress.resumeState(torrentId: id)?.verified.count == 0)
        #expect(throws: StoreError.self) {
            try store.progress.saveProgress(
                ProgressBatch(torrents: [TorrentProgress(torrentId: id, pieces: [0: true])]))
        }
    }
}
