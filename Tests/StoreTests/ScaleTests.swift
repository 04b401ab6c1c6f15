import Engine
import Foundation
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct ScaleTests {
    @Test func tenThousandTorrentsListInOneQuery() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        let count = 10_000
        let news = (0..<count).map { index in
            Fixtures.new(
                Fixtures.metainfo(
                    seed: UInt64(index), fileLengths: Array(repeating: 50_000, count: 1 + index % 3),
                    trackers: [["http://127.0.0.1:\(1 + index % 50)/announce"]]))
        }
        var clock = ContinuousClock.now
        let outcomes = try store.adder.add(contentsOf: news)
        let addTime = ContinuousClock.now - clock
        #expect(outcomes.allSatisfy { !$0.isDuplicate })

        clock = ContinuousClock.now
        let list = try store.queries.torrents()
        let listTime = ContinuousClock.now - clock
        #expect(list.count == count)
        #expect(list.map(\.queuePosition) == Array(0..<count))
        #expect(list.map(\.id) == (1...Int64(count)).map { $0 })
        #expect(list[1234].name == "torrent-1234" && list[1234].fileCount == 1 + 1234 % 3)

        clock = ContinuousClock.now
        let resolved = try store.queries.resolve(String(list[5678].infoHash.prefix(10)))
        let resolveTime = ContinuousClock.now - clock
        #expect(resolved.id == list[5678].id)

        print(
            "StoreTests scale: added \(count) torrents in one transaction in \(addTime); "
                + "torrents() took \(listTime); resolve(prefix) took \(resolveTime)")
    }

    @Test func aTorrentWithFiveThousandFiles() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        let metainfo = Fixtures.metainfo(seed: 1, fileLengths: (0..<5_000).map { Int64(1_000 + $0) })
        let clock = ContinuousClock.now
        let record = try store.adder.add(Fixtures.new(metainfo)).record
        let addTime = ContinuousClock.now - clock
        #expect(record.fileCount == 5_000)
        let files = try store.queries.files(torrentId: record.id)
        #expect(files.count == 5_000)
        #expect(files.last?.offset == metainfo.files.last?.offset)
        print("StoreTests scale: added a 5,000-file torrent in \(addTime)")
    }
}
