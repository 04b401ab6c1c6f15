import Testing

@testable import Engine

/// Inputs built to exhaust time or memory: each is refused with the right typed error, or accepted
/// with what it holds bounded. (Their time and memory are measured by `Benchmarks/hostile_inputs.py`
/// on a release build, not here.)
@Suite(.timeLimit(.minutes(5))) struct HostileInputTests {
    static let pieceLength: Int64 = 16384

    /// A v1 multi-file torrent of `files` (path, length), with correct piece hashes' length.
    static func multiFile(
        _ files: [(path: [String], length: Int64)], name: String = "pack", extra: [String: BencodeValue] = [:]
    ) -> [UInt8] {
        let total = files.reduce(0) { $0 + $1.length }
        let pieces = Int((total + pieceLength - 1) / pieceLength)
        let list = files.map { file -> BencodeValue in
            ["length": .integer(file.length), "path": .list(file.path.map { .text($0) })]
        }
        var top = extra
        top["info"] = [
            "name": .text(name), "piece length": .integer(pieceLength), "files": .list(list),
            "pieces": .string([UInt8](repeating: 7, count: pieces * 20)),
        ]
        return BencodeValue.dictionary(top).encoded
    }

    static func category(_ bytes: [UInt8], limits: MetainfoLimits = .default) -> MetainfoError.Category? {
        do {
            _ = try Metainfo(bytes: bytes, limits: limits)
            return nil
        } catch {
            return (error as? MetainfoError)?.category
        }
    }

    // MARK: - Paths

    @Test func aPathOfTwentyThousandElementsIsRefused() {
        let path = (0..<20_000).map { _ in "a" }
        #expect(Self.category(Self.multiFile([(path, 1)])) == .pathTooDeep)
    }

    @Test func pathDepthIsBoundedWithTheTorrentFolderCounted() throws {
        let deepest = (0..<255).map { "d\($0)" }
        let metainfo = try Metainfo(bytes: Self.multiFile([(deepest, 1)]))
        #expect(metainfo.files[0].path.count == 256)
        #expect(Self.category(Self.multiFile([(deepest + ["x"], 1)])) == .pathTooDeep)
    }

    @Test func pathBytesAreBoundedAfterSanitizing() throws {
        // 15 elements of 255 bytes and the folder `pack`: 4 + 15 * 256 = 3844 bytes, accepted.
        let long = String(repeating: "n", count: 255)
        let accepted = try Metainfo(bytes: Self.multiFile([(Array(repeating: long, count: 15), 1)]))
        #expect(accepted.files[0].displayPath.utf8.count == 3844)
        // One element more is 4100 bytes.
        #expect(Self.category(Self.multiFile([(Array(repeating: long, count: 16), 1)])) == .pathTooLong)
        // Elements are cut to 255 bytes before they count: 15 elements of 100 KB each still fit.
        let huge = String(repeating: "h", count: 100_000)
        let cut = try Metainfo(bytes: Self.multiFile([(Array(repeating: huge, count: 15), 1)]))
        #expect(cut.files[0].path.dropFirst().allSatisfy { $0.utf8.count == 255 })
    }

    @Test func aVersion2TreeIsBoundedLikeAList() {
        var node: BencodeValue = ["": ["length": 0]]
        let long = String(repeating: "t", count: 255)
        for _ in 0..<17 { node = .dictionary([long: node]) }
        let bytes = BencodeValue.dictionary([
            "info": ["name": "tree", "piece length": 16384, "meta version": 2, "file tree": node]
        ]).encoded
        #expect(Self.category(bytes) == .pathTooLong)
    }

    @Test func symlinkTargetsAreBoundedToo() {
        let target = BencodeValue.list((0..<300).map { _ in "s" })
        let info: BencodeValue = [
            "name": "links", "piece length": 16384, "pieces": .string([UInt8](repeating: 1, count: 20)),
            "files": [
                ["length": 1, "path": ["data"]],
                ["length": 0, "path": ["link"], "attr": "l", "symlink path": target],
            ],
        ]
        #expect(Self.category(BencodeValue.dictionary(["info": info]).encoded) == .pathTooDeep)
    }

    @Test func aLongNameIsCutNotRefused() throws {
        let name = String(repeating: "é", count: 50_000)
        let metainfo = try Metainfo(bytes: Self.multiFile([(["f"], 1)], name: name))
        #expect(metainfo.name.utf8.count <= PathSanitizer.maxElementBytes)
        #expect(metainfo.name.allSatisfy { $0 == "é" })
    }

    // MARK: - Counts

    @Test func fileCountIsBounded() throws {
        let limits = MetainfoLimits(maxFiles: 50)
        let files = (0..<50).map { (path: ["f\($0)"], length: Int64(1)) }
        #expect(try Metainfo(bytes: Self.multiFile(files), limits: limits).files.count == 50)
        let more = files + [(path: ["f50"], length: 1)]
        #expect(Self.category(Self.multiFile(more), limits: limits) == .tooManyFiles)
        #expect(MetainfoLimits.default.maxFiles >= 100_000)
    }

    @Test func fileCountIsBoundedInAVersion2Tree() {
        var tree: [String: BencodeValue] = [:]
        for index in 0..<51 { tree["f\(index)"] = ["": ["length": 0]] }
        tree["f0"] = ["": ["length": 1, "pieces root": .string([UInt8](repeating: 1, count: 32))]]
        let bytes = BencodeValue.dictionary([
            "info": ["name": "tree", "piece length": 16384, "meta version": 2, "file tree": .dictionary(tree)]
        ]).encoded
        #expect(Self.category(bytes, limits: MetainfoLimits(maxFiles: 50)) == .tooManyFiles)
        #expect(Self.category(bytes, limits: MetainfoLimits(maxFiles: 51)) == nil)
    }

    @Test func manyCollidingNamesInDeepFoldersAreResolvedOrRefused() throws {
        let folder = (0..<200).map { "d\($0)" }
        let files = (0..<50).map { _ in (path: folder + ["same.txt"], length: Int64(1)) }
        let metainfo = try Metainfo(bytes: Self.multiFile(files))
        #expect(metainfo.files[0].path.last == "same.txt")
        #expect(metainfo.files[49].path.last == "same.49.txt")
        #expect(Set(metainfo.files.map(\.path)).count == 50)
        let tooMany = (0..<102).map { _ in (path: folder + ["same.txt"], length: Int64(1)) }
        #expect(Self.category(Self.multiFile(tooMany)) == .tooManyDuplicateFilenames)
    }

    @Test func aVersion2TreeWhoseKeysAreSanitizedAlikeIsStillRenamed() throws {
        // The resolver is skipped only for a tree whose keys are all used as given; here the zero-width
        // space is removed, so the second key becomes the first one's name.
        let file: BencodeValue = ["": ["length": 1, "pieces root": .string([UInt8](repeating: 1, count: 32))]]
        let bytes = BencodeValue.dictionary([
            "info": [
                "name": "tree", "piece length": 16384, "meta version": 2,
                "file tree": .dictionary(["a.txt": file, "a\u{200B}.txt": file]),
            ]
        ]).encoded
        let metainfo = try Metainfo(bytes: bytes)
        #expect(metainfo.files.filter { !$0.isPad }.map(\.relativePath) == ["tree/a.txt", "tree/a.1.txt"])
    }

    @Test func aFileNamedLikeADeepFolderIsRenamed() throws {
        let folder = (0..<100).map { "d\($0)" }
        let metainfo = try Metainfo(
            bytes: Self.multiFile([(folder, 1), (folder + ["inner"], 1), (Array(folder.prefix(50)), 1)]))
        #expect(metainfo.files[0].path.last == "d99.1")
        #expect(metainfo.files[1].path.last == "inner")
        #expect(metainfo.files[2].path.last == "d49.1")
    }

    @Test func trackersAndOtherHintsKeepTheirFirstThousand() throws {
        let urls = (0..<5000).map { BencodeValue.text("http://t\($0).example/announce") }
        let tiers = BencodeValue.list(stride(from: 0, to: 5000, by: 10).map { .list(Array(urls[$0..<$0 + 10])) })
        let seeds = BencodeValue.list((0..<5000).map { .text("http://s\($0).example/") })
        let bytes = Self.multiFile([(["f"], 1)], extra: ["announce-list": tiers, "url-list": seeds])
        let metainfo = try Metainfo(bytes: bytes)
        let kept = metainfo.trackerTiers.flatMap { $0 }
        #expect(kept.count == 1000)
        #expect(kept.first == "http://t0.example/announce")
        #expect(kept.last == "http://t999.example/announce")
        #expect(metainfo.trackerTiers.count == 100)
        #expect(metainfo.webSeeds.count == 1000)
    }

    @Test func aLongCommentIsCutOnACharacterBoundary() throws {
        let comment = String(repeating: "€", count: 100_000)
        let metainfo = try Metainfo(bytes: Self.multiFile([(["f"], 1)], extra: ["comment": .text(comment)]))
        let kept = try #require(metainfo.comment)
        #expect(kept.utf8.count <= MetainfoLimits.default.maxTextBytes)
        #expect(kept.utf8.count > MetainfoLimits.default.maxTextBytes - 3)
        #expect(kept.allSatisfy { $0 == "€" })
    }

    // MARK: - Bencode and pieces

    @Test func deepNestingIsRefusedWithoutRecursion() {
        let bytes = [UInt8](repeating: UInt8(ascii: "l"), count: 1 << 20)
        #expect(Self.category(bytes) == .depthExceeded)
        let dictionaries = Array(repeating: Array("d1:a".utf8), count: 200_000).flatMap { $0 }
        #expect(Self.category(dictionaries) == .depthExceeded)
    }

    @Test func tooManyValuesAreRefused() {
        let decoder = BencodeDecoder.Limits(
            maxDepth: 100, maxElements: 10_000, maxStringLength: 1 << 20, maxInputLength: 1 << 20)
        let list =
            [UInt8]("l".utf8) + Array(repeating: Array("i0e".utf8), count: 20_000).flatMap { $0 } + [
                UInt8(ascii: "e")
            ]
        #expect(Self.category(list, limits: MetainfoLimits(decoder: decoder)) == .tooLarge)
    }

    @Test func tooManyPiecesAreRefusedBeforeTheirHashesAreRead() {
        let info: BencodeValue = [
            "name": "big", "piece length": 16384, "length": .integer(Int64(16384) << 22), "pieces": "",
        ]
        #expect(Self.category(BencodeValue.dictionary(["info": info]).encoded) == .tooManyPieces)
    }

    @Test func aLargePieceLayerIsVerifiedAndKept() throws {
        // 65,536 pieces of 16 KiB: a 2 MiB piece layer.
        let pieces = 1 << 16
        let layer = (0..<pieces * 32).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let root = MerkleTree.root(ofPieceLayer: layer, pieceLength: 16384)
        let length = Int64(pieces) * 16384
        let info: BencodeValue = [
            "name": "layered", "piece length": 16384, "meta version": 2,
            "file tree": ["data": ["": ["length": .integer(length), "pieces root": .string(root)]]],
        ]
        let good = BencodeValue.dictionary(["info": info, "piece layers": .dictionary([root: .string(layer)])])
        #expect(try Metainfo(bytes: good.encoded).pieceLayers[root] == layer)
        let short = BencodeValue.dictionary([
            "info": info, "piece layers": .dictionary([root: .string(Array(layer.dropLast(32)))]),
        ])
        #expect(Self.category(short.encoded) == .invalidPieceLayer)
    }

    // MARK: - Magnet links

    @Test func magnetListsKeepTheirFirstThousand() throws {
        let hash = String(repeating: "ab", count: 20)
        let trackers = (0..<1500).map { "tr=http%3A%2F%2Ft\($0).example%2Fa" }.joined(separator: "&")
        let link = try MagnetLink(parsing: "magnet:?xt=urn:btih:\(hash)&\(trackers)")
        #expect(link.trackers.count == MagnetLink.maxListEntries)
        #expect(link.trackers.first == "http://t0.example/a")
    }

    @Test func anOverlongMagnetIsRefused() {
        let hash = String(repeating: "ab", count: 20)
        let uri = "magnet:?xt=urn:btih:\(hash)&dn=" + String(repeating: "x", count: MagnetLink.maxURILength)
        do {
            _ = try MagnetLink(parsing: uri)
            Issue.record("an overlong magnet link was accepted")
        } catch let error as MagnetError {
            #expect(error.code == .tooLong)
        } catch {
            Issue.record("untyped error \(error)")
        }
    }
}
