import Foundation
import Testing

@testable import Engine

/// The limits a queue manager works within, as a value: slots (narrowed by a scope), each session's
/// share of the connections, the shared rate limits and the seed limits; and which torrents a scope
/// offers a pass.
@Suite(.timeLimit(.minutes(5)))
struct QueueLimitsTests {
    private func limits(
        maxPeers: Int = 60, fixedMaxActive: Int? = nil, maxPeersOverall: Int = 200, scope: QueueScope = .queue
    ) -> QueueLimits {
        QueueLimits(
            configuration: SessionConfiguration(listenPort: 1, maxPeers: maxPeers), fixedMaxActive: fixedMaxActive,
            maxPeersOverall: maxPeersOverall, scope: scope)
    }

    @Test func aScopedRunDownloadsAllItsTorrentsElseTheOptionOverridesTheSetting() {
        var read = 0
        let setting: () -> Int? = {
            read += 1
            return 5
        }
        #expect(limits(fixedMaxActive: 2, scope: .only([4, 5, 6], seeding: false)).maxActive(setting: setting()) == 3)
        #expect(limits(fixedMaxActive: 2).maxActive(setting: setting()) == 2)
        #expect(read == 0)
        #expect(limits().maxActive(setting: setting()) == 5)
        #expect(read == 1)
        #expect(limits().maxActive(setting: nil) == 3)
        #expect(limits().maxActive(setting: 0) == 1)
    }

    @Test func aScopedRunHasASeedSlotForEachTorrentWhenTheySeedAndNoneWhenNot() {
        let stored = TransferSettings(values: [
            TransferSettings.maxSeedsKey: "7", TransferSettings.downloadRateKey: "1000",
        ])
        var queue = limits()
        queue.update(stored)
        #expect(queue.settings.maxSeeds == 7)
        #expect(queue.limiters.globalDownload.bytesPerSecond == 1000)
        var seeding = limits(scope: .only([1, 2], seeding: true))
        seeding.update(stored)
        #expect(seeding.settings.maxSeeds == 2)
        var notSeeding = limits(scope: .only([1, 2], seeding: false))
        notSeeding.update(stored)
        #expect(notSeeding.settings.maxSeeds == 0)
        #expect(notSeeding.settings.downloadRate == 1000)
    }

    @Test(arguments: [(200, 60, 3, 2, 40), (1000, 60, 3, 2, 60), (3, 60, 3, 2, 1), (200, 60, 4, 0, 50)])
    func eachSessionHasItsShareOfTheConnections(overall: Int, own: Int, maxActive: Int, maxSeeds: Int, share: Int) {
        var limits = limits(maxPeers: own, maxPeersOverall: overall)
        limits.update(TransferSettings(values: [TransferSettings.maxSeedsKey: "\(maxSeeds)"]))
        #expect(limits.sessionConfiguration(maxActive: maxActive).maxPeers == share)
    }

    /// `-1` lifts a slot limit: every torrent may be worked, and the overall connection limit is shared
    /// among those worked now and the one starting.
    @Test func unlimitedSlotsShareTheConnectionsAmongTheTorrentsWorked() {
        var limits = limits(maxPeers: 60, maxPeersOverall: 200)
        limits.update(TransferSettings(values: [TransferSettings.maxSeedsKey: "-1"]))
        #expect(limits.settings.maxSeeds == TransferSettings.unlimitedSlots)
        #expect(limits.maxActive(setting: -1) == TransferSettings.unlimitedSlots)
        #expect(limits.maxActive(setting: 5000) == 5000)
        #expect(limits.sessionConfiguration(maxActive: 3, worked: 0).maxPeers == 60)
        #expect(limits.sessionConfiguration(maxActive: 3, worked: 9).maxPeers == 20)
        #expect(limits.sessionConfiguration(maxActive: 3, worked: 4_999).maxPeers == 1)
        #expect(TransferSettings.slots("-1") == TransferSettings.unlimitedSlots)
        #expect(TransferSettings.slots("7") == 7 && TransferSettings.slots("x") == nil)
    }

    @Test func aSeedFromDataInPlaceCountsItsRatioOverWhatItHas() {
        var limits = limits()
        limits.update(
            TransferSettings(values: [TransferSettings.seedRatioKey: "1", TransferSettings.seedTimeKey: "60"]))
        #expect(limits.seedLimitReached(uploaded: 1 << 20, downloaded: 0, bytesDone: 1 << 20, seededSeconds: 0) != nil)
        #expect(
            limits.seedLimitReached(uploaded: 1 << 20, downloaded: 2 << 20, bytesDone: 1 << 20, seededSeconds: 0) == nil
        )
        #expect(limits.seedLimitReached(uploaded: 0, downloaded: 0, bytesDone: 0, seededSeconds: 59) == nil)
        #expect(limits.seedLimitReached(uploaded: 0, downloaded: 0, bytesDone: 0, seededSeconds: 60) != nil)
    }

    @Test func aTorrentStartsAsASeedWhenItFinishedBeforeAndSeedsAreWanted() throws {
        let queue = MemoryQueue()
        let done = try #require(queue.record(queue.add("done", complete: true)))
        let seeding = try #require(queue.record(queue.add("seeding", state: .seeding)))
        let fresh = try #require(queue.record(queue.add("fresh")))
        #expect(QueueScope.queue.startsAsSeed(done) && QueueScope.queue.startsAsSeed(seeding))
        #expect(!QueueScope.queue.startsAsSeed(fresh))
        #expect(!QueueScope.only([done.id], seeding: false).startsAsSeed(done))
    }

    @Test func aScopeOffersItsOwnTorrentsAndTheQueueItsFirstInQueueOrder() throws {
        let queue = MemoryQueue()
        let ids = [queue.add("t1"), queue.add("t2"), queue.add("seed", complete: true), queue.add("t4")]
        queue.contents.withLock { $0.torrents[ids[1]]?.removedAt = Date() }
        let scoped = try QueueScope.only([ids[3], ids[1], ids[0]], seeding: false)
            .candidates(in: queue, downloadSlots: 0, seedSlots: 0, tracked: [])
        #expect(scoped.map(\.id) == [ids[0], ids[3]])
        let downloads = try QueueScope.queue.candidates(in: queue, downloadSlots: 1, seedSlots: 0, tracked: [])
        #expect(downloads.map(\.id) == [ids[0], ids[3]])
        let all = try QueueScope.queue.candidates(in: queue, downloadSlots: 1, seedSlots: 1, tracked: [])
        #expect(all.map(\.id) == [ids[0], ids[2], ids[3]])
        // The torrents worked already are skipped, however many there are.
        let past = try QueueScope.queue.candidates(in: queue, downloadSlots: 1, seedSlots: 1, tracked: [ids[0]])
        #expect(past.map(\.id) == [ids[2], ids[3]])
    }
}
