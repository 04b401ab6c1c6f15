import Testing

@testable import Engine

/// ``TorrentFilesParser`` on its own: a v1 `files` list, the single file of a v1 torrent and a v2
/// `file tree`, each given as a decoded bencode value.
@Suite(.timeLimit(.minutes(5))) struct TorrentFilesParserTests {
    static let parser = TorrentFilesParser(limits: .default)

    /// `value` encoded and decoded again, as the parser gets it.
    static func node(_ value: BencodeValue) throws -> BencodeNode {
        try BencodeDecoder(keyOrder: .lenient).decode(value.encoded)
    }

    @Test func fileListPathsAreSanitizedBelowTheFolder() throws {
        let list = try Self.node([
            ["length": 3, "path": ["a", "..", "b.txt"]],
            ["length": 0, "path": ["c/d", "."]],
            ["length": 5, "path.utf-8": ["utf8.txt"], "path": ["ignored.txt"]],
        ])
        let files = try Self.parser.parseFileList(list, folder: "top")
        // `..` and `.` become `_` (never a folder level); `/` inside an element is removed.
        #expect(files.map(\.path) == [["top", "a", "_", "b.txt"], ["top", "cd", "_"], ["top", "utf8.txt"]])
        #expect(files.map(\.length) == [3, 0, 5])
        // Offsets are laid out later, by `FileLayout`.
        #expect(files.map(\.offset) == [0, 0, 0])
    }

    @Test func fileListRefusesMalformedPaths() throws {
        let notAString = try Self.node([["length": 1, "path": ["a", 7]]])
        #expect(MetainfoError.category { _ = try Self.parser.parseFileList(notAString, folder: "top") } == .invalidName)
        let noPath = try Self.node([["length": 1]])
        #expect(MetainfoError.category { _ = try Self.parser.parseFileList(noPath, folder: "top") } == .missingName)
        let negative = try Self.node([["length": -1, "path": ["a"]]])
        #expect(MetainfoError.category { _ = try Self.parser.parseFileList(negative, folder: "top") } == .invalidLength)
        #expect(
            MetainfoError.category { _ = try Self.parser.parseFileList(try Self.node([]), folder: "top") } == .noFiles)
        let notAList = try Self.node(["length": 1])
        #expect(
            MetainfoError.category { _ = try Self.parser.parseFileList(notAList, folder: "top") } == .fileParseFailed)
    }

    @Test func fileListLimitsCountTheFolder() throws {
        let parser = TorrentFilesParser(limits: MetainfoLimits(maxFiles: 2, maxPathDepth: 3, maxPathBytes: 12))
        // The folder and two elements: 3 elements and 9 bytes (`top/ab/cd`), within both limits.
        let fits = try Self.node([["length": 1, "path": ["ab", "cd"]]])
        #expect(try parser.parseFileList(fits, folder: "top").map(\.path) == [["top", "ab", "cd"]])
        let deep = try Self.node([["length": 1, "path": ["a", "b", "c"]]])
        #expect(MetainfoError.category { _ = try parser.parseFileList(deep, folder: "top") } == .pathTooDeep)
        let long = try Self.node([["length": 1, "path": ["abcd", "efgh"]]])
        #expect(MetainfoError.category { _ = try parser.parseFileList(long, folder: "top") } == .pathTooLong)
        let many = try Self.node([
            ["length": 1, "path": ["a"]], ["length": 1, "path": ["b"]], ["length": 1, "path": ["c"]],
        ])
        #expect(MetainfoError.category { _ = try parser.parseFileList(many, folder: "top") } == .tooManyFiles)
    }

    @Test func padFilesAndSymlinks() throws {
        let list = try Self.node([
            ["length": 10, "path": ["x", "_____padding_file_0"]],
            ["length": 4, "attr": "p"],
            ["length": 9, "path": ["link"], "attr": "lx", "symlink path": ["..", "dir", ".", "target"]],
            ["length": 9, "path": ["dangling"], "attr": "l", "symlink path": [".."]],
        ])
        let files = try Self.parser.parseFileList(list, folder: "top")
        // A legacy (BitComet) pad file by its name, and a BEP 47 pad file without a path.
        #expect(files[0].attributes == .pad)
        #expect(files[1].path == ["top", ".pad", "4"])
        #expect(files[1].attributes == .pad)
        // A symlink takes no space; `.` and `..` of its target are dropped, below the torrent's root.
        #expect(files[2].path == ["top", "link"])
        #expect(files[2].length == 0)
        #expect(files[2].attributes == [.symlink, .executable])
        #expect(files[2].symlinkTarget == ["top", "dir", "target"])
        // A symlink whose target is nothing once `..` is dropped is an ordinary empty file.
        #expect(files[3].attributes == [])
        #expect(files[3].symlinkTarget == nil)
        #expect(files[3].length == 0)
        let both = try Self.node([["length": 1, "path": ["a"], "attr": "pl", "symlink path": ["b"]]])
        #expect(MetainfoError.category { _ = try Self.parser.parseFileList(both, folder: "top") } == .invalidPadFile)
    }

    @Test func singleFileIsNamedByTheTorrent() throws {
        let info = try Self.node(["length": 42, "name": "ignored", "attr": "x"])
        let file = try Self.parser.parseSingleFile(info, name: "movie.mkv")
        #expect(file == TorrentFile(path: ["movie.mkv"], length: 42, offset: 0, attributes: .executable))
        let noLength = try Self.node(["name": "a"])
        #expect(MetainfoError.category { _ = try Self.parser.parseSingleFile(noLength, name: "a") } == .invalidLength)
    }

    @Test func fileTreeIsLaidOutWithPadFiles() throws {
        let root = [UInt8](repeating: 7, count: 32)
        let source = BencodeValue.dictionary([
            Array("b".utf8): ["..": ["": ["length": 20_000, "pieces root": .string(root)]]],
            Array("a.txt".utf8): ["": ["length": 100, "pieces root": .string(root)]],
            Array("empty".utf8): ["": ["length": 0]],
        ]).encoded
        let tree = try BencodeDecoder(keyOrder: .lenient).decode(source)
        let (files, isSingleFile, keysAsGiven) = try Self.parser.parseFileTree(
            tree, in: source, folder: "top", hasFileList: false, pieceLength: 16384)
        #expect(!isSingleFile)
        #expect(!keysAsGiven)  // `..` was sanitized
        // Key order; each non-empty file starts a piece, `..` is `_`, and the tail is padded too.
        #expect(
            files.map(\.path) == [
                ["top", "a.txt"], ["top", ".pad", "16284"], ["top", "b", "_"], ["top", ".pad", "12768"],
                ["top", "empty"],
            ])
        #expect(files.map(\.offset) == [0, 100, 16384, 36384, 49152])
        #expect(files[0].piecesRoot == root)
        #expect(files[4].piecesRoot == nil)
    }

    @Test func fileTreeOfOneFileIsASingleFileTorrent() throws {
        let root = [UInt8](repeating: 1, count: 32)
        let source = BencodeValue.dictionary([
            Array("only.bin".utf8): ["": ["length": 100, "pieces root": .string(root)]]
        ]).encoded
        let tree = try BencodeDecoder().decode(source)
        let (files, isSingleFile, keysAsGiven) = try Self.parser.parseFileTree(
            tree, in: source, folder: "top", hasFileList: false, pieceLength: 16384)
        #expect(isSingleFile)
        #expect(keysAsGiven)
        #expect(files.map(\.path) == [["only.bin"]])
        // With a v1 list beside it (hybrid), the same tree is a folder of one file.
        let (inFolder, single, _) = try Self.parser.parseFileTree(
            tree, in: source, folder: "top", hasFileList: true, pieceLength: 16384)
        #expect(!single)
        #expect(inFolder.map(\.path) == [["top", "only.bin"], ["top", ".pad", "16284"]])
    }

    @Test func fileTreeRefusesPadFilesAndMissingRoots() throws {
        let cases: [(file: BencodeValue, category: MetainfoError.Category)] = [
            (["length": 100, "attr": "p"], .invalidPadFile),
            (["length": 100], .missingPiecesRoot),
            (["length": 100, "pieces root": .string([UInt8](repeating: 0, count: 32))], .missingPiecesRoot),
        ]
        for (file, category) in cases {
            let source = BencodeValue.dictionary([Array("f".utf8): ["": file]]).encoded
            let tree = try BencodeDecoder().decode(source)
            #expect(
                MetainfoError.category {
                    _ = try Self.parser.parseFileTree(
                        tree, in: source, folder: "top", hasFileList: false, pieceLength: 16384)
                } == category)
        }
    }
}
