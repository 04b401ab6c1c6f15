import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// The download order column (`torrents.download_order`) and the file priority change counter.
@Suite struct DownloadOrderTests {
    @Test func aTorrentStartsRarestFirstAndKeepsTheOrderSet() throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 3))).record.id
        #expect(try store.queries.torrent(id: id)?.downloadOrder == .rarest)
        #expect(try store.queries.setDownloadOrder(torrentId: id, .sequential))
        #expect(try store.queries.torrent(id: id)?.downloadOrder == .sequential)
        #expect(try !store.queries.setDownloadOrder(torrentId: id, .sequential), "unchanged: no event")
        #expect(try store.queries.setDownloadOrder(torrentId: id, .firstLast))
        #expect(try store.queries.torrents().map(\.downloadOrder) == [.firstLast])
        let orderEvents = try store.queries.events(torrentId: id).filter { $0.kind == "order" }.map(\.detail)
        #expect(orderEvents == ["rarest -> sequential", "sequential -> first-last"])
        #expect(throws: StoreError.self) { try store.queries.setDownloadOrder(torrentId: id + 1, .sequential) }
    }

    @Test func anOrderThisBuildDoesNotKnowReadsAsRarest() throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 4))).record.id
        try store.writer.write { db in
            try db.execute(sql: "UPDATE torrents SET download_order = 'backwards' WHERE id = ?", arguments: [id])
        }
        #expect(try store.queries.torrent(id: id)?.downloadOrder == .rarest)
    }

    @Test func priorityChangesAreCounted() throws {
        let store = try BtqStore.inMemory()
        let id = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 5))).record.id
        #expect(try store.queries.torrent(id: id)?.prioritiesChanged == 0)
        try store.queries.setFilePriorities(torrentId: id, [0: 7])
        try store.queries.setFilePriorities(torrentId: id, [1: 1])
        #expect(try store.queries.torrent(id: id)?.prioritiesChanged == 2)
        #expect(try store.queries.filePriorities(torrentId: id, count: 2) == [7, 1])
        #expect(throws: StoreError.self) { try store.queries.setFilePriorities(torrentId: id, [0: 9]) }
        #expect(try store.queries.torrent(id: id)?.prioritiesChanged == 2, "a refused change counts nothing")
    }

    /// Schema 7 adds the columns to a database of schema 5 and keeps its torrents, rarest first.
    @Test func schema7UpgradesADatabaseOfSchema5() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            let old = try BtqStore(path: path, migratingUpTo: "0005_dht")
            // Written as that schema was: today's `add` reads back columns it lacks.
            try old.writer.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO torrents (id, info_hash_v1, name, magnet, save_dir, state, queue_position, added_at)
                        VALUES (1, '\(String(repeating: "cd", count: 20))', 'torrent-6', 'magnet:?xt=urn:btih:x',
                            '/tmp', 'queued', 0, 0)
                        """)
            }
        }
        let store = try BtqStore(path: path)
        #expect(try store.appliedMigrations().contains("0007_download_order"))
        #expect(try store.queries.torrents().map(\.downloadOrder) == [.rarest])
        #expect(try store.queries.torrents().map(\.prioritiesChanged) == [0])
    }
}
