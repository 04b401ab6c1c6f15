import Engine
import Foundation
import GRDB
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct AddTests {
    @Test func addsATorrentWithFilesTrackersAndAnEvent() throws {
        let store = try BtqStore.inMemory()
        let metainfo = Fixtures.metainfo(
            seed: 7, trackers: [["http://127.0.0.1:1/a", "http://127.0.0.1:2/a"], ["udp://127.0.0.1:3"]])
        let outcome = try store.adder.add(Fixtures.new(metainfo))
        guard case .added(let record) = outcome else {
            Issue.record("expected added, got \(outcome)")
            return
        }
        #expect(record.id == 1)
        #expect(record.infoHashV1 == metainfo.infoHashes.v1?.hex)
        #expect(record.infoHashV2 == nil)
        #expect(record.name == "torrent-7")
        #expect(record.totalSize == 63_000)
        #expect(record.pieceLength == 16_384)
        #expect(record.pieceCount == 4)
        #expect(record.piecesDone == 0 && record.bytesDone == 0 && record.progress == 0)
        #expect(record.state == .queued)
        #expect(record.queuePosition == 0)
        #expect(record.saveDirectory == "/downloads")
        #expect(!record.isMagnet)
        #expect(record.version == "v1")
        #expect(record.comment == "seed 7" && record.createdBy == "btq tests")
        #expect(record.creationDate == 1_700_000_000)
        #expect(abs(record.addedAt.timeIntervalSinceNow) < 60)
        #expect(record.fileCount == 2)
        #expect(record.removedAt == nil && record.startedAt == nil && record.completedAt == nil)
        #expect(try store.queries.metainfoBytes(torrentId: 1) == metainfo.torrentBytes)

        let files = try store.queries.files(torrentId: 1)
        #expect(files.map(\.path) == ["torrent-7/file0.bin", "torrent-7/file1.bin"])
        #expect(files.map(\.offset) == [0, 40_000])
        #expect(files.map(\.length) == [40_000, 23_000])
        #expect(files.allSatisfy { $0.priority == 4 && !$0.isPad && $0.bytesDone == 0 })

        let trackers = try store.queries.trackers(torrentId: 1)
        #expect(trackers.map(\.url) == ["http://127.0.0.1:1/a", "http://127.0.0.1:2/a", "udp://127.0.0.1:3"])
        #expect(trackers.map(\.tier) == [0, 0, 1])
        #expect(trackers.map(\.position) == [0, 1, 0])

        let events = try store.queries.events(torrentId: 1)
        #expect(events.map(\.kind) == ["added"])
    }

    @Test func aTorrentWhoseParsedContentWasReleasedIsStoredTheSame() throws {
        // With a pad file, so that the two counts differ.
        let metainfo = Fixtures.metainfo(seed: 5, fileLengths: [40_000, 9_152, 23_000], attributes: [1: "p"])
        let kept = try BtqStore.inMemory()
        let whole = try kept.adder.add(Fixtures.new(metainfo)).record
        var new = Fixtures.new(metainfo)
        new.releaseParsedContent()
        guard case .metainfo(let released) = new.source else {
            Issue.record("the source is no longer a torrent")
            return
        }
        #expect(released.files.isEmpty && released.pieceHashes == nil && released.pieceLayers.isEmpty)
        #expect(new.fileCount == 2 && new.fileEntries == 3)
        let store = try BtqStore.inMemory()
        let record = try store.adder.add(new).record
        #expect(record.fileCount == 2 && record.fileCount == whole.fileCount)
        #expect(record.pieceCount == whole.pieceCount && record.totalSize == whole.totalSize)
        #expect(try store.queries.metainfoBytes(torrentId: record.id) == metainfo.torrentBytes)
        // The file list is read from the stored bytes, as for any torrent.
        #expect(try store.queries.files(torrentId: record.id) == kept.queries.files(torrentId: whole.id))
        #expect(try store.queries.files(torrentId: record.id).count == 3)

        // A magnet brought back as such a torrent gains its counts too.
        let magnet = try store.adder.add(
            NewTorrent(
                source: .magnet(
                    MagnetLink(
                        infoHashes: Fixtures.metainfo(seed: 6).infoHashes, displayName: nil, trackers: [], webSeeds: [],
                        peers: [], uri: "magnet:?")), saveDirectory: "/d")
        ).record
        try store.queue.remove(torrentId: magnet.id, purge: false)
        var again = Fixtures.new(Fixtures.metainfo(seed: 6, fileLengths: [1, 16_383, 2], attributes: [1: "p"]))
        again.releaseParsedContent()
        let back = try store.adder.add(again).record
        #expect(back.id == magnet.id && !back.isMagnet && back.fileCount == 2)
        #expect(try store.queries.files(torrentId: back.id).count == 3)
    }

    @Test func addsAMagnet() throws {
        let store = try BtqStore.inMemory()
        let magnet = Fixtures.magnet(seed: 3, name: nil, trackers: ["udp://127.0.0.1:1", "http://127.0.0.1:2/a"])
        let record = try store.adder.add(NewTorrent(source: .magnet(magnet), saveDirectory: "/d", paused: true)).record
        #expect(record.isMagnet)
        #expect(record.name == magnet.infoHashes.v1?.hex)
        #expect(record.totalSize == nil && record.pieceCount == nil && record.version == nil)
        #expect(record.state == .paused)
        #expect(record.progress == 0)
        #expect(try store.queries.magnetURI(torrentId: record.id) == magnet.uri)
        #expect(try store.queries.files(torrentId: record.id).isEmpty)
        #expect(try store.queries.trackers(torrentId: record.id).map(\.tier) == [0, 1])
    }

    @Test func aDuplicateChangesNothing() throws {
        let store = try BtqStore.inMemory()
        let metainfo = Fixtures.metainfo(seed: 1)
        _ = try store.adder.add(Fixtures.new(metainfo))
        let before = try store.queries.events()
        // The same torrent, and a magnet of the same v1 hash.
        let again = try store.adder.add(Fixtures.new(metainfo, paused: true, atTop: true))
        #expect(again == .duplicate(try store.queries.torrent(id: 1)!))
        let magnet = MagnetLink(
            infoHashes: metainfo.infoHashes, displayName: nil, trackers: [], webSeeds: [], peers: [], uri: "magnet:?")
        #expect(try store.adder.add(NewTorrent(source: .magnet(magnet), saveDirectory: "/x")).isDuplicate)
        #expect(try store.queries.torrents().count == 1)
        #expect(try store.queries.torrent(id: 1)?.state == .queued)
        #expect(try store.queries.events() == before)
    }

    @Test func aHybridMatchingByEitherHashIsADuplicate() throws {
        let store = try BtqStore.inMemory()
        let v2only = Fixtures.metainfo(
            seed: 1, hashes: InfoHashes(v1: nil, v2: Fixtures.v2(seed: 1))!, version: .v2)
        _ = try store.adder.add(Fixtures.new(v2only))
        let hybrid = Fixtures.metainfo(
            seed: 2, hashes: InfoHashes(v1: Fixtures.v1(seed: 2), v2: Fixtures.v2(seed: 1))!, version: .hybrid)
        #expect(try store.adder.add(Fixtures.new(hybrid)).isDuplicate)
        #expect(try store.queries.torrents().count == 1)
    }

    @Test func queuePlacesAtBottomOrTop() throws {
        let store = try BtqStore.inMemory()
        for seed in 1...3 { _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: UInt64(seed)))) }
        _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 4), atTop: true))
        _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 5)))
        let list = try store.queries.torrents()
        #expect(list.map(\.id) == [4, 1, 2, 3, 5])
        #expect(list.map(\.queuePosition) == [0, 1, 2, 3, 4])
    }

    @Test func addingSeveralIsAllOrNothing() throws {
        let store = try BtqStore.inMemory()
        let outcomes = try store.adder.add(contentsOf: [
            Fixtures.new(Fixtures.metainfo(seed: 1)), Fixtures.new(Fixtures.metainfo(seed: 2)),
            Fixtures.new(Fixtures.metainfo(seed: 1)),
        ])
        #expect(outcomes.map(\.isDuplicate) == [false, false, true])
        // A bad value in the middle (a negative size fails a CHECK) rolls the whole batch back.
        var bad = Fixtures.metainfo(seed: 9)
        bad.totalLength = -1
        #expect(throws: (any Error).self) {
            try store.adder.add(contentsOf: [Fixtures.new(Fixtures.metainfo(seed: 8)), Fixtures.new(bad)])
        }
        #expect(try store.queries.torrents().map(\.id) == [1, 2])
    }

    @Test func attachingMetadataToAMagnet() throws {
        let store = try BtqStore.inMemory()
        let magnet = Fixtures.magnet(seed: 5, trackers: ["udp://127.0.0.1:1"])
        let id = try store.adder.add(NewTorrent(source: .magnet(magnet), saveDirectory: "/d")).record.id
        let other = Fixtures.metainfo(seed: 6)
        #expect(throws: StoreError.self) { try store.progress.attachMetainfo(torrentId: id, other) }
        let metainfo = Fixtures.metainfo(seed: 5, trackers: [["http://127.0.0.1:9/a"]])
        try store.progress.attachMetainfo(torrentId: id, metainfo)
        let record = try #require(try store.queries.torrent(id: id))
        #expect(!record.isMagnet && record.name == "torrent-5" && record.pieceCount == 4 && record.fileCount == 2)
        #expect(try store.queries.files(torrentId: id).count == 2)
        #expect(try store.queries.trackers(torrentId: id).map(\.url) == ["udp://127.0.0.1:1", "http://127.0.0.1:9/a"])
        #expect(try store.queries.events(torrentId: id).map(\.kind) == ["added", "metadata"])
    }
}
