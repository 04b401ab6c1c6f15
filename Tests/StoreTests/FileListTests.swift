import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// Schema 12's compact file lists: written with the metainfo, backfilled from it on upgrade, read for
/// many torrents at once exactly as one torrent's files are, and a damaged row is a typed error.
@Suite(.timeLimit(.minutes(5))) struct FileListTests {
    static let files = [
        TorrentFile(relativePath: "t/a.bin", length: 40_000, offset: 0),
        TorrentFile(relativePath: "t/.pad/1", length: 9_152, offset: 40_000, attributes: .pad),
        TorrentFile(relativePath: "t/b é.bin", length: 0, offset: 49_152, attributes: [.executable, .hidden]),
        TorrentFile(
            relativePath: "t/link", length: 0, offset: 49_152, attributes: .symlink, symlinkTarget: ["t", "a.bin"]),
        TorrentFile(relativePath: "t/empty-target", length: 0, offset: 49_152, attributes: .symlink, symlinkTarget: []),
    ]

    @Test func theEncodingRoundTrips() throws {
        let decoded = try FileListBlob.decode(FileListBlob.encode(Self.files), torrentId: 1)
        #expect(decoded == Self.files)
        #expect(try FileListBlob.decode(FileListBlob.encode([TorrentFile]()), torrentId: 1).isEmpty)
    }

    /// Every cut of a valid row, a wrong version, a count the bytes cannot hold, trailing bytes and a
    /// path that is not UTF-8: each a damaged-database error naming the torrent, none a crash.
    @Test func aDamagedRowIsATypedError() throws {
        let valid = FileListBlob.encode(Self.files)
        var bad: [[UInt8]] = (0..<valid.count).map { Array(valid.prefix($0)) }
        bad.append([2] + valid.dropFirst())
        bad.append([1, 0xFF, 0xFF, 0xFF, 0xFF])
        bad.append(valid + [0])
        var notUTF8 = FileListBlob.encode([TorrentFile(relativePath: "ab", length: 1, offset: 0)])
        notUTF8[notUTF8.count - 1] = 0xFF
        bad.append(notUTF8)
        var negative = FileListBlob.encode([TorrentFile(relativePath: "ab", length: 1, offset: 0)])
        negative[6] = 0x80
        bad.append(negative)
        for bytes in bad {
            let error = #expect(throws: StoreError.self) { try FileListBlob.decode(bytes, torrentId: 7) }
            #expect(error?.code == .damagedDatabase)
            #expect(error?.description.contains("file_lists") == true)
        }
    }

    @Test func addingAndMetadataWriteTheRow() throws {
        let store = try BtqStore.inMemory()
        let metainfo = Fixtures.metainfo(seed: 1, fileLengths: [1, 2, 3])
        let id = try store.adder.add(Fixtures.new(metainfo)).record.id
        #expect(try Self.row(id, store) == Array(metainfo.files))
        let magnet = try store.adder.add(NewTorrent(source: .magnet(Fixtures.magnet(seed: 2)), saveDirectory: "/d"))
            .record.id
        #expect(try Self.row(magnet, store) == nil)
        let fetched = Fixtures.metainfo(seed: 2, fileLengths: [5, 6])
        try store.progress.attachMetainfo(torrentId: magnet, fetched)
        #expect(try Self.row(magnet, store) == Array(fetched.files))
    }

    /// Schema 12 on a database of schema 10: every torrent with metainfo gets its row from it.
    @Test func theUpgradeBackfillsFromTheStoredMetainfo() throws {
        let metainfo = Fixtures.metainfo(seed: 3, fileLengths: [10, 20, 30])
        let store = try BtqStore(inMemoryMigratingUpTo: "0010_peer_transport")
        try store.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO torrents (id, info_hash_v1, name, total_size, piece_length, piece_count, file_count,
                        file_entries, has_metainfo, save_dir, state, queue_position, added_at)
                    VALUES (1, '\(String(repeating: "ab", count: 20))', 'a', 60, 16384, 1, 3, 3, 1, '/d', 'paused', 0, 0);
                    INSERT INTO torrents (id, info_hash_v1, name, magnet, save_dir, state, queue_position, added_at)
                    VALUES (2, '\(String(repeating: "cd", count: 20))', 'm', 'magnet:?xt=urn:btih:x', '/d', 'queued',
                        1, 0);
                    """)
            try MetainfoBlob.write(metainfo.torrentBytes, torrentId: 1, db)
        }
        try store.migrate()
        #expect(try Self.row(1, store) == Array(metainfo.files))
        #expect(try Self.row(2, store) == nil)
        #expect(try store.queries.files(torrentId: 1).map(\.path) == metainfo.files.map(\.relativePath))
    }

    /// The batch read gives what reading each torrent alone gives: untouched, partly verified,
    /// complete, with skipped files, a magnet without files, and one without a row (read from its
    /// metainfo).
    @Test func manyTorrentsReadAsEachAlone() throws {
        let store = try BtqStore.inMemory()
        var ids: [Int64] = []
        for seed in 1...6 {
            let metainfo = Fixtures.metainfo(seed: UInt64(seed), fileLengths: [40_000, 23_000, 1_000])
            ids.append(try store.adder.add(Fixtures.new(metainfo)).record.id)
        }
        let magnet = try store.adder.add(NewTorrent(source: .magnet(Fixtures.magnet(seed: 9)), saveDirectory: "/d"))
            .record.id
        // 64,000 bytes in pieces of 16 KiB: 4 pieces.
        try store.progress.saveProgress(
            ProgressBatch(torrents: [
                TorrentProgress(torrentId: ids[1], pieces: [0: true, 2: true]),
                TorrentProgress(torrentId: ids[2], pieces: [0: true, 1: true, 2: true, 3: true]),
            ]))
        try store.queries.setFilePriorities(torrentId: ids[3], [1: 0, 2: 7])
        try store.writer.write { db in
            try db.execute(sql: "DELETE FROM file_lists WHERE torrent_id = ?", arguments: [ids[4]])
        }
        let batch = try store.queries.files(torrentIds: ids + [magnet, 999])
        #expect(Set(batch.keys) == Set(ids))
        for id in ids { #expect(batch[id] == (try store.queries.files(torrentId: id))) }
        #expect(batch[ids[1]]?.map(\.bytesDone) == [23_616, 9_152, 0])
        #expect(batch[ids[2]]?.map(\.bytesDone) == [40_000, 23_000, 1_000])
        #expect(batch[ids[3]]?.map(\.priority) == [4, 0, 7])
        #expect(batch[ids[4]]?.count == 3)
        // More torrents than one query takes.
        let many = try store.queries.files(torrentIds: Array(repeating: ids, count: 200).joined())
        #expect(many == batch)
    }

    @Test func trackersOfManyTorrentsReadAsEachAlone() throws {
        let store = try BtqStore.inMemory()
        var ids: [Int64] = []
        for seed in 1...3 {
            let metainfo = Fixtures.metainfo(
                seed: UInt64(seed),
                trackers: [["http://127.0.0.1:1/a", "http://127.0.0.1:2/a"], ["http://127.0.0.1:\(seed)/b"]])
            ids.append(try store.adder.add(Fixtures.new(metainfo)).record.id)
        }
        let batch = try store.queries.trackers(torrentIds: ids + [999])
        #expect(Set(batch.keys) == Set(ids))
        for id in ids { #expect(batch[id] == (try store.queries.trackers(torrentId: id))) }
        #expect(batch[ids[2]]?.map(\.url).last == "http://127.0.0.1:3/b")
    }

    @Test func theCountedSizeIsTheEncodedSize() {
        #expect(FileListBlob.encodedCount(Self.files) == FileListBlob.encode(Self.files).count)
        #expect(FileListBlob.encodedCount([TorrentFile]()) == FileListBlob.encode([TorrentFile]()).count)
        #expect(FileListBlob.encodeIfSmall(Self.files) == FileListBlob.encode(Self.files))
    }

    /// A torrent whose list would make a row of more than 4 MiB (each row repeats the folder, which the
    /// metainfo names once) keeps none: its files are read from its metainfo, alone and in a batch.
    @Test func aListTooBigToKeepHasNoRowAndIsReadFromTheMetainfo() throws {
        let metainfo = Fixtures.metainfo(
            seed: 9, name: String(repeating: "n", count: 200), fileLengths: Array(repeating: 1, count: 20_000))
        #expect(FileListBlob.encodedCount(metainfo.files) > FileListBlob.maximumBytes)
        #expect(FileListBlob.encodeIfSmall(metainfo.files) == nil)
        let store = try BtqStore.inMemory()
        var new = Fixtures.new(metainfo)
        new.releaseParsedContent()
        let id = try store.adder.add(new).record.id
        #expect(try Self.row(id, store) == nil)
        let files = try store.queries.files(torrentId: id)
        #expect(files.count == 20_000 && files.map(\.path) == metainfo.files.map(\.relativePath))
        let batch = try store.queries.files(torrentIds: [id])
        #expect(batch[id]?.count == 20_000)
    }

    private static func row(_ id: Int64, _ store: BtqStore) throws -> [TorrentFile]? {
        try store.writer.read { db in
            try Data.fetchOne(db, sql: "SELECT entries FROM file_lists WHERE torrent_id = ?", arguments: [id])
        }.map { try FileListBlob.decode(Array($0), torrentId: id) }
    }
}
