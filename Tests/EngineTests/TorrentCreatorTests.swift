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
        #expect(metainfo.pieceHashes.map(Array.init) == expected)
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
        #expect(metainfo.pieceHashes.map(Array.init) == expected)
    }

    /// The BEP 52 root of `bytes` computed the plain way: every layer built in full, from the 16 KiB
    /// leaves padded with zero hashes to `leafCount` (at least a power of two over the block count).
    static func naiveRoot(_ bytes: ArraySlice<UInt8>, leafCount: Int) -> [UInt8] {
        var layer: [[UInt8]] = stride(from: bytes.startIndex, to: bytes.endIndex, by: 16384).map { start in
            Array(SHA256.hash(data: bytes[start..<min(start + 16384, bytes.endIndex)]))
        }
        layer += Array(repeating: [UInt8](repeating: 0, count: 32), count: leafCount - layer.count)
        while layer.count > 1 {
            layer = stride(from: 0, to: layer.count, by: 2).map { Array(SHA256.hash(data: layer[$0] + layer[$0 + 1])) }
        }
        return layer[0]
    }

    static func nextPowerOfTwo(_ value: Int) -> Int {
        var power = 1
        while power < value { power *= 2 }
        return power
    }

    /// The `pieces root` and piece layer of a file, computed the plain way.
    static func naiveHashes(_ content: [UInt8], pieceLength: Int) -> (root: [UInt8], layer: [UInt8]) {
        let blocks = (content.count + 16383) / 16384
        guard content.count > pieceLength else {
            return (naiveRoot(content[...], leafCount: nextPowerOfTwo(blocks)), [])
        }
        let pieces = (content.count + pieceLength - 1) / pieceLength
        let layer = (0..<pieces).flatMap { piece in
            naiveRoot(
                content[piece * pieceLength..<min((piece + 1) * pieceLength, content.count)],
                leafCount: pieceLength / 16384)
        }
        let root = naiveRoot(content[...], leafCount: nextPowerOfTwo(pieces) * pieceLength / 16384)
        return (root, layer)
    }

    @Test(arguments: [MetainfoVersion.v2, .hybrid])
    func v2FolderHasMerkleTreesAndHybridPadsEveryFile(_ version: MetainfoVersion) throws {
        let temporary = try TemporaryFolder()
        let root = temporary.url.appendingPathComponent("Pack")
        let contents: [(String, [UInt8])] = [
            ("a.txt", try temporary.write("Pack/a.txt", length: 1000, seed: 1)),
            ("empty.bin", try temporary.write("Pack/empty.bin", length: 0, seed: 2)),
            ("sub/b.txt", try temporary.write("Pack/sub/b.txt", length: 3 * 32768 + 16385, seed: 4)),
            ("sub/deeper/z.dat", try temporary.write("Pack/sub/deeper/z.dat", length: 65_536, seed: 3)),
            ("y.bin", try temporary.write("Pack/y.bin", length: 40_000, seed: 5)),
        ]
        let pieceLength = 32768
        var options = TorrentCreator.Options(pieceLength: pieceLength, creationDate: 1, threads: 1, version: version)
        let bytes = try TorrentCreator(options: options).create(from: root.path)
        options.threads = 3
        #expect(try TorrentCreator(options: options).create(from: root.path) == bytes)

        let node = try BencodeDecoder().decode(bytes)
        #expect(BencodeEncoder().encode(node.plainValue) == bytes)
        let metainfo = try Metainfo(bytes: bytes)
        #expect(metainfo.version == version)
        #expect(metainfo.pieceLength == pieceLength)
        let info = try #require(node["info"])
        #expect(metainfo.infoHashes.v2?.bytes == Array(SHA256.hash(data: bytes[info.span])))

        // Sorted by path bytes, every file on a piece boundary (explicit pad files after them).
        let real = metainfo.files.filter { !$0.isPad }
        let sorted = contents.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        #expect(real.map(\.displayPath) == sorted.map { "Pack/" + $0.0 })
        #expect(real.allSatisfy { $0.offset % Int64(pieceLength) == 0 })
        var layers: [[UInt8]: [UInt8]] = [:]
        for (file, (_, content)) in zip(real, sorted) {
            guard !content.isEmpty else {
                #expect(file.piecesRoot == nil)
                continue
            }
            let expected = Self.naiveHashes(content, pieceLength: pieceLength)
            #expect(file.piecesRoot == expected.root, "\(file.displayPath)")
            if !expected.layer.isEmpty { layers[expected.root] = expected.layer }
        }
        #expect(metainfo.pieceLayers == layers)
        #expect(layers.count == 3)

        if version == .hybrid {
            // v1 pieces: the stream of the files, each followed by zeros up to a piece boundary.
            let stream = sorted.flatMap { _, content in
                content + [UInt8](repeating: 0, count: (pieceLength - content.count % pieceLength) % pieceLength)
            }
            let expected = stride(from: 0, to: stream.count, by: pieceLength).flatMap { start in
                Array(Insecure.SHA1.hash(data: stream[start..<start + pieceLength]))
            }
            #expect(metainfo.pieceHashes.map(Array.init) == expected)
            #expect(metainfo.infoHashes.v1?.bytes == Array(Insecure.SHA1.hash(data: bytes[info.span])))
        } else {
            #expect(metainfo.pieceHashes == nil)
            #expect(metainfo.infoHashes.v1 == nil)
        }
    }

    @Test(arguments: [MetainfoVersion.v2, .hybrid])
    func v2SingleFileKeepsItsLength(_ version: MetainfoVersion) throws {
        let temporary = try TemporaryFolder()
        let content = try temporary.write("movie.mkv", length: 100_001, seed: 9)
        let options = TorrentCreator.Options(pieceLength: 16384, creationDate: 42, threads: 2, version: version)
        let metainfo = try Metainfo(
            bytes: try TorrentCreator(options: options).create(
                from: temporary.url.appendingPathComponent("movie.mkv").path))
        #expect(!metainfo.isMultiFile)
        #expect(metainfo.files.filter { !$0.isPad }.map(\.path) == [["movie.mkv"]])
        let expected = Self.naiveHashes(content, pieceLength: 16384)
        #expect(metainfo.files[0].piecesRoot == expected.root)
        #expect(metainfo.pieceLayers == [expected.root: expected.layer])
        if version == .hybrid {
            // A single file keeps `length`: its last v1 piece is short, not padded.
            let hashes = stride(from: 0, to: content.count, by: 16384).flatMap { start in
                Array(Insecure.SHA1.hash(data: content[start..<min(start + 16384, content.count)]))
            }
            #expect(metainfo.pieceHashes.map(Array.init) == hashes)
        }
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
