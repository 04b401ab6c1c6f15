import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// The `.torrent` bytes go in and out of the database in chunks (`MetainfoBlob`), and a torrent's files
/// are read back from them.
@Suite(.timeLimit(.minutes(5))) struct MetainfoBlobTests {
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
        let id = try store.adder.add(NewTorrent(source: .metainfo(metainfo), saveDirectory: "/d")).record.id
        let stored = try #require(try store.queries.metainfoBytes(torrentId: id))
        #expect(stored.count == metainfo.torrentBytes.count)
        #expect(stored == metainfo.torrentBytes)
        #expect(try store.queries.metainfoBytes(torrentId: id + 1) == nil, "an unknown torrent has none")
    }

    @Test func aMagnetHasNoneUntilItsMetadataArrives() throws {
        let store = try BtqStore.inMemory()
        let magnet = Fixtures.magnet(seed: 4)
        let id = try store.adder.add(NewTorrent(source: .magnet(magnet), saveDirectory: "/d")).record.id
        #expect(try store.queries.metainfoBytes(torrentId: id) == nil)
        var metainfo = Fixtures.metainfo(seed: 4)
        metainfo.torrentBytes += [UInt8](repeating: 7, count: MetainfoBlob.chunkSize + 1)
        try store.progress.attachMetainfo(torrentId: id, metainfo)
        #expect(try store.queries.metainfoBytes(torrentId: id) == metainfo.torrentBytes)
    }

    /// A torrent's files come back from its stored metainfo with every attribute, and only what the
    /// user or btq set per file is stored beside it.
    @Test func filesComeBackFromTheStoredMetainfo() throws {
        let store = try BtqStore.inMemory()
        let metainfo = Fixtures.metainfo(
            seed: 8, fileLengths: [10, 5, 0], attributes: [0: "xh", 1: "p", 2: "l"], symlinks: [2: ["file0.bin"]])
        let id = try store.adder.add(NewTorrent(source: .metainfo(metainfo), saveDirectory: "/d")).record.id
        let rows = { try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM file_state") } }
        #expect(try rows() == 0, "adding a torrent writes no row per file")
        var files = try store.queries.files(torrentId: id)
        #expect(files.map(\.index) == [0, 1, 2])
        #expect(files.map(\.path) == ["torrent-8/file0.bin", "torrent-8/file1.bin", "torrent-8/file2.bin"])
        #expect(files.map(\.length) == [10, 5, 0] && files.map(\.offset) == [0, 10, 15])
        #expect(files.map(\.isPad) == [false, true, false])
        #expect(files[0].isExecutable && files[0].isHidden && !files[1].isExecutable)
        #expect(files.map(\.symlinkTarget) == [nil, nil, "torrent-8/file0.bin"])
        #expect(files.map(\.priority) == [4, 4, 4])

        try store.queries.setFilePriorities(torrentId: id, [0: 7, 1: 0, 2: 0])
        files = try store.queries.files(torrentId: id)
        #expect(files.map(\.priority) == [7, 4, 0], "a pad file keeps its priority")
        #expect(try store.queries.filePriorities(torrentId: id, count: 3) == [7, 4, 0])
        #expect(try rows() == 2)
        #expect(throws: StoreError.self) { try store.queries.setFilePriorities(torrentId: id, [3: 1]) }
        #expect(throws: StoreError.self) { try store.queries.setFilePriorities(torrentId: id, [0: 8]) }

        // Recorded file states: a row on the first record, updated in place; an index past the list is
        // ignored.
        try store.progress.recordFileStats(
            torrentId: id,
            [
                FileStat(index: FileIndex(0), size: 10, modificationTimeNanoseconds: 5),
                FileStat(index: FileIndex(1), size: 5, modificationTimeNanoseconds: 6),
                FileStat(index: FileIndex(3), size: 1, modificationTimeNanoseconds: 7),
            ])
        try store.progress.recordFileStats(
            torrentId: id, [FileStat(index: FileIndex(0), size: 11, modificationTimeNanoseconds: 8)])
        let state = try #require(try store.progress.resumeState(torrentId: id))
        #expect(state.files.map(\.index.value) == [0, 1] && state.files.map(\.size) == [11, 5])
        #expect(try store.queries.files(torrentId: id).map(\.priority) == [7, 4, 0], "recording keeps priorities")
        #expect(try rows() == 3)
    }
}
