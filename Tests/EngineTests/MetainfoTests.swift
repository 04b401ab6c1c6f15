import Crypto
import Testing

@testable import Engine

/// Hand-built torrents for what the corpus does not cover: v2 layout and piece layers, hybrid
/// consistency, tracker and web seed normalization, limits.
@Suite(.timeLimit(.minutes(5))) struct MetainfoTests {
    static let pieceLength = 16384
    static let first = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    static let second = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }

    /// The BEP 52 piece layer (= the leaf layer, as pieces are one block) and root of `data`.
    static func merkle(_ data: [UInt8]) -> (layer: [UInt8], root: [UInt8]) {
        let layer = stride(from: 0, to: data.count, by: 16384).flatMap {
            Array(SHA256.hash(data: data[$0..<min($0 + 16384, data.count)]))
        }
        return (layer, MerkleTree.root(ofPieceLayer: layer, pieceLength: pieceLength))
    }

    static func fileTree() -> BencodeValue {
        [
            "a.bin": ["": ["length": 40_000, "pieces root": .string(merkle(first).root)]],
            "b.bin": ["": ["length": 20_000, "pieces root": .string(merkle(second).root)]],
            "empty": ["": ["length": 0]],
        ]
    }

    static func pieceLayers() -> BencodeValue {
        .dictionary([
            merkle(first).root: .string(merkle(first).layer), merkle(second).root: .string(merkle(second).layer),
        ])
    }

    static func torrent(info: [String: BencodeValue], extra: [String: BencodeValue] = [:]) -> [UInt8] {
        var top = extra
        top["info"] = .dictionary(info)
        return BencodeValue.dictionary(top).encoded
    }

    static func error(_ bytes: [UInt8], limits: MetainfoLimits = .default) -> MetainfoError.Category? {
        do {
            _ = try Metainfo(bytes: bytes, limits: limits)
            return nil
        } catch {
            return (error as? MetainfoError)?.category
        }
    }

    @Test func v2OnlyTorrentGetsAlignedLayoutAndVerifiedLayers() throws {
        let bytes = Self.torrent(
            info: ["name": "pack", "piece length": 16384, "meta version": 2, "file tree": Self.fileTree()],
            extra: ["piece layers": Self.pieceLayers()])
        let metainfo = try Metainfo(bytes: bytes)
        #expect(metainfo.version == .v2)
        #expect(metainfo.infoHashes.v1 == nil)
        #expect(metainfo.infoHashes.v2?.bytes == Array(SHA256.hash(data: metainfo.infoBytes)))
        #expect(metainfo.isMultiFile)
        #expect(metainfo.pieceHashes == nil)
        // a.bin (3 pieces) is padded to a boundary, then b.bin (2 pieces) and its tail pad; the
        // empty file takes no space.
        #expect(
            metainfo.files.map(\.displayPath) == [
                "pack/a.bin", "pack/.pad/9152", "pack/b.bin", "pack/.pad/12768", "pack/empty",
            ])
        #expect(metainfo.files.map(\.offset) == [0, 40_000, 49_152, 69_152, 81_920])
        #expect(metainfo.files.map(\.isPad) == [false, true, false, true, false])
        #expect(metainfo.pieceCount == 5)
        #expect(metainfo.totalLength == 81_920)
        #expect(metainfo.pieceLayers[Self.merkle(Self.first).root] == Self.merkle(Self.first).layer)
        #expect(metainfo.files[0].piecesRoot == Self.merkle(Self.first).root)
    }

    /// The parsed piece hashes are the torrent's own bytes, not a copy (a session keeps both), and a
    /// piece's expected hash is read from where the slice starts.
    @Test func pieceHashesAreASliceOfTheTorrentBytes() throws {
        let data = (0..<40_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        let pieces = stride(from: 0, to: data.count, by: 16384).flatMap {
            Array(Insecure.SHA1.hash(data: data[$0..<min($0 + 16384, data.count)]))
        }
        let bytes = Self.torrent(info: [
            "name": "x", "piece length": 16384, "length": 40_000, "pieces": .string(pieces),
        ])
        let metainfo = try Metainfo(bytes: bytes)
        let hashes = try #require(metainfo.pieceHashes)
        #expect(Array(hashes) == pieces)
        #expect(hashes.startIndex > 0)
        let sliceStart = hashes.withUnsafeBufferPointer { $0.baseAddress }
        let inTorrent = metainfo.torrentBytes.withUnsafeBufferPointer { $0.baseAddress! + hashes.startIndex }
        #expect(sliceStart == inTorrent)
        for piece in 0..<3 {
            let expected = PieceHasher.expected(PieceIndex(piece), in: hashes)
            #expect(Array(expected) == Array(pieces[piece * 20..<piece * 20 + 20]))
            let digest = PieceDigest.sha1(of: Array(data[piece * 16384..<min(piece * 16384 + 16384, data.count)]))
            #expect(PieceHasher.matches(digest, piece: PieceIndex(piece), in: hashes))
            #expect(!PieceHasher.matches(digest, piece: PieceIndex((piece + 1) % 3), in: hashes))
        }
    }

    @Test func v2PieceLayerMustHashToItsRoot() {
        var layer = Self.merkle(Self.first).layer
        layer[5] ^= 1
        let bytes = Self.torrent(
            info: ["name": "pack", "piece length": 16384, "meta version": 2, "file tree": Self.fileTree()],
            extra: ["piece layers": .dictionary([Self.merkle(Self.first).root: .string(layer)])])
        #expect(Self.error(bytes) == .invalidPieceLayer)
    }

    /// The v1 half of a hybrid torrent: the files with pad files, and SHA-1 pieces of that stream.
    static func hybridInfo(padAfterFirst: Int = 9152, tailPad: Int? = 12768) -> [String: BencodeValue] {
        var files: [BencodeValue] = [["length": 40_000, "path": ["a.bin"]]]
        var stream = first
        if padAfterFirst > 0 {
            files.append([
                "attr": "p", "length": .integer(Int64(padAfterFirst)), "path": [".pad", .text("\(padAfterFirst)")],
            ])
            stream += [UInt8](repeating: 0, count: padAfterFirst)
        }
        files.append(["length": 20_000, "path": ["b.bin"]])
        stream += second
        if let tailPad {
            files.append(["attr": "p", "length": .integer(Int64(tailPad)), "path": [".pad", .text("\(tailPad)")]])
            stream += [UInt8](repeating: 0, count: tailPad)
        }
        files.append(["length": 0, "path": ["empty"]])
        let pieces = stride(from: 0, to: stream.count, by: 16384).flatMap {
            Array(Insecure.SHA1.hash(data: stream[$0..<min($0 + 16384, stream.count)]))
        }
        return [
            "name": "pack", "piece length": 16384, "meta version": 2, "file tree": fileTree(), "files": .list(files),
            "pieces": .string(pieces),
        ]
    }

    @Test func hybridTorrentHasBothHashesAndRoots() throws {
        let metainfo = try Metainfo(
            bytes: Self.torrent(info: Self.hybridInfo(), extra: ["piece layers": Self.pieceLayers()]))
        #expect(metainfo.version == .hybrid)
        #expect(metainfo.infoHashes.v1?.bytes == Array(Insecure.SHA1.hash(data: metainfo.infoBytes)))
        #expect(metainfo.infoHashes.v2?.bytes == Array(SHA256.hash(data: metainfo.infoBytes)))
        #expect(metainfo.files.count == 5)
        #expect(metainfo.files[2].piecesRoot == Self.merkle(Self.second).root)
        #expect(metainfo.pieceCount == 5)
        // Without the tail pad file (older libtorrent) it is still consistent.
        #expect(Self.error(Self.torrent(info: Self.hybridInfo(tailPad: nil))) == nil)
    }

    @Test func hybridHalvesMustAgree() {
        #expect(Self.error(Self.torrent(info: Self.hybridInfo(padAfterFirst: 0))) == .inconsistentFiles)
        #expect(Self.error(Self.torrent(info: Self.hybridInfo(padAfterFirst: 9153))) == .inconsistentFiles)
        var renamed = Self.hybridInfo()
        renamed["name"] = "other"
        #expect(Self.error(Self.torrent(info: renamed)) == nil, "both halves take the same name")
        var extraFile = Self.hybridInfo()
        if case .list(var files) = extraFile["files"] {
            files.append(["length": 1, "path": ["z"]])
            extraFile["files"] = .list(files)
        }
        #expect(Self.error(Self.torrent(info: extraFile)) == .inconsistentFiles)
    }

    @Test func versionKeysMustMatch() {
        let tree = Self.fileTree()
        #expect(
            Self.error(Self.torrent(info: ["name": "x", "piece length": 16384, "file tree": tree]))
                == .missingMetaVersion)
        #expect(
            Self.error(Self.torrent(info: ["name": "x", "piece length": 16384, "meta version": 2])) == .missingFileTree)
        #expect(
            Self.error(Self.torrent(info: ["name": "x", "piece length": 16384, "meta version": 3, "file tree": tree]))
                == .unknownVersion)
    }

    @Test func trackersAndWebSeedsAreNormalized() throws {
        let info: [String: BencodeValue] = [
            "name": "x", "piece length": 16384, "length": 10, "pieces": .string([UInt8](repeating: 1, count: 20)),
        ]
        let announceList: BencodeValue = [
            [" http://a.example/announce\n", "http://a.example/announce", ""], [], ["udp://b.example:80"],
        ]
        let extra: [String: BencodeValue] = [
            "announce": "http://ignored.example/announce", "announce-list": announceList,
            "url-list": "http://seed.example/path with space",
        ]
        let bytes = Self.torrent(info: info, extra: extra)
        let metainfo = try Metainfo(bytes: bytes)
        #expect(metainfo.trackerTiers == [["http://a.example/announce"], ["udp://b.example:80"]])
        #expect(metainfo.webSeeds == ["http://seed.example/path%20with%20space"])
        #expect(metainfo.name == "x")
        #expect(!metainfo.isPrivate)
    }

    @Test func limitsAreEnforced() {
        let info: [String: BencodeValue] = [
            "name": "x", "piece length": 16384, "length": 100_000, "pieces": .string([UInt8](repeating: 1, count: 140)),
        ]
        let bytes = Self.torrent(info: info)
        #expect(Self.error(bytes) == nil)
        #expect(Self.error(bytes, limits: MetainfoLimits(maxPieces: 6)) == .tooManyPieces)
        let tinyDecoder = BencodeDecoder.Limits(
            maxDepth: 100, maxElements: 5, maxStringLength: 1 << 20, maxInputLength: 1 << 20)
        #expect(Self.error(bytes, limits: MetainfoLimits(decoder: tinyDecoder)) == .tooLarge)
        #expect(Self.error(bytes, limits: MetainfoLimits(maxFileLength: 99_999)) == .invalidLength)
        #expect(Self.error(bytes, limits: MetainfoLimits(maxPieceLength: 8192)) == .missingPieceLength)
    }

    @Test func errorsSayWhatWasWrong() {
        do {
            _ = try Metainfo(bytes: Array("not bencode".utf8))
            Issue.record("must throw")
        } catch let error as MetainfoError {
            #expect(error.category == .invalidBencoding)
            #expect(error.bencodeError?.offset == 0)
            #expect(error.description.contains("byte 0"))
        } catch {
            Issue.record("untyped \(error)")
        }
    }
}
