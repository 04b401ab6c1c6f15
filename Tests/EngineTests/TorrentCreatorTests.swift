import Crypto
import Foundation
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct TorrentCreatorTests {
    /// A temporary folder removed when the test ends.
    final class TemporaryFolder {
        let url: URL

        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("btq-creator-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(at: url) }

        /// Writes `length` seeded pseudo-random bytes at `path` (below the folder) and returns them.
        @discardableResult
        func write(_ path: String, length: Int, seed: UInt64) throws -> [UInt8] {
            var random = SplitMix64(seed: seed)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: file)
            return bytes
        }
    }

    @Test func folderWithNestedFoldersEmptyFilesAndNonASCIINames() throws {
        let temporary = try TemporaryFolder()
        let root = temporary.url.appendingPathComponent("Pack ü")
        let a = try temporary.write("Pack ü/a.txt", length: 1000, seed: 1)
        try temporary.write("Pack ü/empty.bin", length: 0, seed: 2)
        let z = try temporary.write("Pack ü/sub/deeper/z.dat", length: 70_000, seed: 3)
        let b = try temporary.write("Pack ü/sub/b.txt", length: 40_000, seed: 4)
        let n = try temporary.write("Pack ü/ñandú é.txt", length: 5000, seed: 5)
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("link").path, withDestinationPath: "a.txt")

        let options = TorrentCreator.Options(
            trackers: [["udp://tracker.example:6969/announce"], ["http://backup.example/announce"]],
            webSeeds: ["http://seed.example/files/"], pieceLength: 16384, isPrivate: true, comment: "made by a test",
            createdBy: "btq tests", creationDate: 1_700_000_000, threads: 3)
        let bytes = try TorrentCreator(options: options).create(from: root.path)

        // Canonical bencode: the strict decoder accepts it and re-encoding gives the same bytes.
        let node = try BencodeDecoder().decode(bytes)
        #expect(BencodeEncoder().encode(node.plainValue) == bytes)

        let metainfo = try Metainfo(bytes: bytes)
        #expect(metainfo.version == .v1)
        #expect(metainfo.isMultiFile)
        #expect(metainfo.name == "Pack ü")
        // Sorted by path bytes; the symlink is skipped; the empty file is kept.
        #expect(
            metainfo.files.map(\.displayPath) == [
                "Pack ü/a.txt", "Pack ü/empty.bin", "Pack ü/sub/b.txt", "Pack ü/sub/deeper/z.dat", "Pack ü/ñandú é.txt",
            ])
        #expect(metainfo.files.map(\.length) == [1000, 0, 40_000, 70_000, 5000])
        #expect(metainfo.files.map(\.offset) == [0, 1000, 1000, 41_000, 111_000])
        #expect(metainfo.totalLength == 116_000)
        #expect(metainfo.pieceLength == 16384)
        #expect(metainfo.pieceCount == 8)
        #expect(metainfo.trackerTiers == options.trackers)
        #expect(metainfo.webSeeds == ["http://seed.example/files/"])
        #expect(metainfo.isPrivate)
        #expect(metainfo.comment == "made by a test")
        #expect(metainfo.createdBy == "btq tests")
        #expect(metainfo.creationDate == 1_700_000_000)

        // The piece hashes are the SHA-1 of the content read as one stream.
        let stream = a + b + z + n
        let expected = stride(from: 0, to: stream.count, by: 16384).flatMap { start in
            Array(Insecure.SHA1.hash(data: stream[start..<min(start + 16384, stream.count)]))
        }
        #expect(metainfo.pieceHashes == expected)
        // The info-hash is the SHA-1 of the info dictionary exactly as written.
        let info = try #require(node["info"])
        #expect(metainfo.infoHashes.v1?.bytes == Array(Insecure.SHA1.hash(data: bytes[info.span])))
    }

    @Test func singleFileAndDeterminism() throws {
        let temporary = try TemporaryFolder()
        let content = try temporary.write("movie.mkv", length: 100_001, seed: 9)
        let path = temporary.url.appendingPathComponent("movie.mkv").path
        var options = TorrentCreator.Options(creationDate: 42, threads: 1)
        let oneThread = try TorrentCreator(options: options).create(from: path)
        options.threads = 4
        let fourThreads = try TorrentCreator(options: options).create(from: path)
        #expect(oneThread == fourThreads)

        let metainfo = try Metainfo(bytes: oneThread)
        #expect(!metainfo.isMultiFile)
        #expect(metainfo.name == "movie.mkv")
        #expect(metainfo.files.map(\.path) == [["movie.mkv"]])
        #expect(metainfo.pieceLength == 16384)
        #expect(metainfo.trackerTiers.isEmpty)
        let expected = stride(from: 0, to: content.count, by: 16384).flatMap { start in
            Array(Insecure.SHA1.hash(data: content[start..<min(start + 16384, content.count)]))
        }
        #expect(metainfo.pieceHashes == expected)
    }

    @Test(arguments: [
        (Int64(0), 16384), (1_000, 16384), (32_768_000, 16384), (32_768_001, 32768), (1 << 30, 1 << 20),
        (1 << 50, 16 << 20),
    ])
    func automaticPieceLength(totalLength: Int64, pieceLength: Int) {
        #expect(TorrentCreator.automaticPieceLength(totalLength: totalLength) == pieceLength)
    }

    @Test func refusesWhatCannotBeATorrent() throws {
        let temporary = try TemporaryFolder()
        let creator = TorrentCreator()
        try FileManager.default.createDirectory(
            at: temporary.url.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try temporary.write("zeros/a", length: 0, seed: 0)
        try temporary.write("ok/a", length: 10, seed: 0)
        let cases: [(String, TorrentCreator, TorrentCreatorError.Code)] = [
            ("missing", creator, .notFound),
            ("empty", creator, .noFiles),
            ("zeros", creator, .emptyContent),
            ("ok", TorrentCreator(options: .init(pieceLength: 3 * 16384)), .invalidPieceLength),
            ("ok", TorrentCreator(options: .init(pieceLength: 8192)), .invalidPieceLength),
        ]
        for (name, creator, code) in cases {
            #expect {
                try creator.create(from: temporary.url.appendingPathComponent(name).path)
            } throws: { error in
                (error as? TorrentCreatorError)?.code == code
            }
        }
    }
}
