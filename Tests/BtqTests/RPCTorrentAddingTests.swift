import Engine
import Foundation
import Store
import Testing

@testable import btq

/// `torrent-add` of a `.torrent`'s bytes: added as `btq add` adds it (the parsed content freed before
/// the store writes), its files listed from the stored file list, the priorities the request names
/// applied, and a second add found as a duplicate.
@Suite(.timeLimit(.minutes(5))) struct RPCTorrentAddingTests {
    @Test func metainfoIsAddedWithItsFilesAndPriorities() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let path = try QueueCommandTests.makeTorrent(
            btq, files: ["a.bin": 70_000, "sub/b.txt": 123, "sub/c.txt": 5])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let metainfo = try Metainfo(bytes: bytes)
        let store = try BtqStore.inMemory()
        var request = RPCAddRequest(source: .metainfo(bytes))
        request.paused = true
        request.priorities = [1: 0, 2: 7]  // b.txt unwanted, c.txt high
        let added = try RPCTorrentAdding.add(request, to: store, downloadDirectory: "/downloads")
        #expect(!added.isDuplicate)
        #expect(added.hashString == metainfo.infoHashes.v1?.hex)
        let record = try #require(try store.queries.torrents().first)
        #expect(record.id == added.id && record.state == .paused && record.saveDirectory == "/downloads")
        let files = try store.queries.files(torrentIds: [added.id])[added.id] ?? []
        let listed = files.filter { !$0.isPad }
        #expect(listed.count == metainfo.files.countWithoutPads)
        #expect(zip(listed.map(\.path), ["a.bin", "b.txt", "c.txt"]).allSatisfy { $0.hasSuffix($1) }, "\(listed)")
        #expect(listed.map(\.priority) == [4, 0, 7])
        let again = try RPCTorrentAdding.add(
            RPCAddRequest(source: .metainfo(bytes)), to: store, downloadDirectory: "/d")
        #expect(again.isDuplicate && again.id == added.id)
    }

    @Test func aDamagedMetainfoOrAFileIndexBeyondTheTorrentAddsNothing() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: QueueCommandTests.makeTorrent(btq))))
        let store = try BtqStore.inMemory()
        #expect(throws: RPCError.self) {
            try RPCTorrentAdding.add(
                RPCAddRequest(source: .metainfo(Array(bytes.prefix(bytes.count / 2)))), to: store,
                downloadDirectory: "/d")
        }
        #expect(try store.queries.torrents().isEmpty)
    }
}
