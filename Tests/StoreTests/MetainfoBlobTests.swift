import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// The `.torrent` bytes go in and out of the database in chunks (`MetainfoBlob`), and file rows are
/// bound column by column (`FileRows`): both must store exactly what the metainfo holds.
@Suite struct MetainfoBlobTests {
    /// A metainfo whose `.torrent` bytes span several chunks and end in the middle of one.
    private static func large(seed: UInt64) -> Metainfo {
        var metainfo = Fixtures.metainfo(seed: seed)
        let padding = (0..<(3 * MetainfoBlob.chunkSize + 12_345)).map {
            UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed))
        }
        metainfo.torrentBytes += padding
        return metainfo
    }

    @Test func bytesOfSeveralChunksRoundTrip() throws {
        let store = try BtqStore.inMemory()
        let metainfo = Self.large(seed: 3)
        let id = try store.add(NewTorrent(source: .metainfo(metainfo), saveDirectory: "/d")).record.id
        let stored = try #require(try store.metainfoBytes(torrentId: id))
        #expect(stored.count == metainfo.torrentBytes.count)
        #expect(stored == metainfo.torrentBytes)
        #expect(try store.metainfoBytes(torrentId: id + 1) == nil, "an unknown torrent has none")
    }

    @Test func aMagnetHasNoneUntilItsMetadataArrives() throws {
        let store = try BtqStore.inMemory()
        let magnet = Fixtures.magnet(seed: 4)
        let id = try store.add(NewTorrent(source: .magnet(magnet), saveDirectory: "/d")).record.id
        #expect(try store.metainfoBytes(torrentId: id) == nil)
        var metainfo = Fixtures.metainfo(seed: 4)
        metainfo.torrentBytes += [UInt8](repeating: 7, count: MetainfoBlob.chunkSize + 1)
        try store.attachMetainfo(torrentId: id, metainfo)
        #expect(try store.metainfoBytes(torrentId: id) == metainfo.torrentBytes)
    }

    @Test func fileRowsKeepEveryColumn() throws {
        let store = try BtqStore.inMemory()
        var metainfo = Fixtures.metainfo(seed: 8, fileLengths: [10, 5, 0])
        metainfo.files[1].attributes = [.pad]
        metainfo.files[0].attributes = [.executable, .hidden]
        metainfo.files[2].attributes = [.symlink]
        metainfo.files[2].symlinkTarget = ["torrent-8", "file0.bin"]
        metainfo.files[0].piecesRoot = [UInt8](repeating: 0xAB, count: 32)
        let id = try store.add(NewTorrent(source: .metainfo(metainfo), saveDirectory: "/d")).record.id
        let files = try store.files(torrentId: id)
        #expect(files.map(\.index) == [0, 1, 2])
        #expect(files.map(\.path) == ["torrent-8/file0.bin", "torrent-8/file1.bin", "torrent-8/file2.bin"])
        #expect(files.map(\.length) == [10, 5, 0] && files.map(\.offset) == [0, 10, 15])
        #expect(files.map(\.isPad) == [false, true, false])
        #expect(files[0].isExecutable && files[0].isHidden && !files[1].isExecutable)
        #expect(files.map(\.symlinkTarget) == [nil, nil, "torrent-8/file0.bin"])
        let row = try store.writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT attributes, pieces_root FROM files WHERE torrent_id = ? ORDER BY file_index",
                arguments: [id])
        }
        #expect(row.map { $0["attributes"] as String } == ["xh", "p", "l"])
        #expect(row[0]["pieces_root"] == Data(repeating: 0xAB, count: 32))
        #expect(row[1]["pieces_root"] as Data? == nil)
    }

    /// A row the table's checks refuse fails the whole add, with SQLite's message.
    @Test func aRefusedRowIsAnError() throws {
        let store = try BtqStore.inMemory()
        var metainfo = Fixtures.metainfo(seed: 9)
        metainfo.files[0].piecesRoot = [1, 2, 3]
        do {
            _ = try store.add(NewTorrent(source: .metainfo(metainfo), saveDirectory: "/d"))
            Issue.record("a pieces root of 3 bytes was stored")
        } catch {
            #expect("\(error)".contains("CHECK constraint failed"), "\(error)")
        }
        #expect(try store.torrents().isEmpty)
    }
}
