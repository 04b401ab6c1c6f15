import Testing

@testable import Engine

/// The compact file list: what goes in comes out, field by field, and the folder is stored once.
@Suite(.timeLimit(.minutes(5))) struct TorrentFilesTests {
    private static let root = [UInt8](repeating: 7, count: 32)
    private static let files = [
        TorrentFile(relativePath: "t/a/b.txt", length: 5, offset: 0),
        TorrentFile(relativePath: "t/.pad/3", length: 3, offset: 5, attributes: .pad),
        TorrentFile(
            relativePath: "t/link", length: 0, offset: 8, attributes: .symlink, symlinkTarget: ["t", "a", "b.txt"]),
        TorrentFile(relativePath: "t/empty-target", length: 0, offset: 8, symlinkTarget: []),
        TorrentFile(relativePath: "t/v2", length: 9, offset: 8, attributes: [.executable], piecesRoot: root),
        TorrentFile(relativePath: "outside/x", length: 1, offset: 17),
        TorrentFile(relativePath: "t", length: 1, offset: 18),
        TorrentFile(relativePath: "tt/y", length: 1, offset: 19),
    ]

    @Test(arguments: ["", "t", "outside"])
    func filesComeOutAsTheyWentIn(folder: String) {
        let table = TorrentFiles(Self.files, folder: folder)
        #expect(Array(table) == Self.files)
        #expect(table.count == Self.files.count)
        for index in Self.files.indices {
            #expect(table.length(at: index) == Self.files[index].length)
            #expect(table.offset(at: index) == Self.files[index].offset)
            #expect(table.attributes(at: index) == Self.files[index].attributes)
            #expect(table.isPad(at: index) == Self.files[index].isPad)
        }
    }

    /// Paths in the folder are stored without it; the others whole.
    @Test func theFolderIsStoredOnce() {
        let table = TorrentFiles(Self.files, folder: "t")
        let inFolder = (0..<table.count).filter { table.pathBytes(at: $0).inFolder }
        #expect(inFolder == [0, 1, 2, 3, 4])
        #expect(String(decoding: table.pathBytes(at: 0).bytes, as: UTF8.self) == "a/b.txt")
        #expect(String(decoding: table.pathBytes(at: 6).bytes, as: UTF8.self) == "t")
        #expect(String(decoding: table.pathBytes(at: 7).bytes, as: UTF8.self) == "tt/y")
        let many = TorrentFiles(
            (0..<1000).map { TorrentFile(relativePath: "folder/f\($0)", length: 1, offset: 0) }, folder: "folder")
        let pathBytes = (0..<1000).reduce(0) { $0 + "f\($1)".utf8.count }
        #expect(many.pathText.count == pathBytes, "no byte of the folder's name is repeated per file")
    }

    @Test func fieldsAndWholeFilesChangeInPlace() {
        var table = TorrentFiles(Self.files, folder: "t")
        table.setOffset(100, at: 0)
        table.setPiecesRoot(nil, at: 4)
        table.setPiecesRoot([UInt8](repeating: 1, count: 32), at: 0)
        var renamed = table[2]
        renamed.relativePath = "t/link.1"
        table[2] = renamed
        table[5].length = 42
        var expected = Self.files
        expected[0].offset = 100
        expected[0].piecesRoot = [UInt8](repeating: 1, count: 32)
        expected[4].piecesRoot = nil
        expected[2].relativePath = "t/link.1"
        expected[5].length = 42
        #expect(Array(table) == expected)
        #expect(table == TorrentFiles(expected), "equal files, however stored")
        #expect(table != TorrentFiles(Self.files))
    }

    /// Roots read from a parsed `.torrent` stay in it; copied from another table they stay shared when
    /// both read the same `.torrent`, and are copied otherwise.
    @Test func piecesRootsAreReadInPlace() {
        let source = [UInt8](repeating: 1, count: 10) + [UInt8](0..<32) + [UInt8](repeating: 2, count: 10)
        var table: TorrentFiles = [TorrentFile(relativePath: "a", length: 1, offset: 0)]
        table.setPiecesRoot(source[10..<42], of: source, at: 0)
        #expect(table[0].piecesRoot == [UInt8](0..<32))
        var other: TorrentFiles = [
            TorrentFile(relativePath: "a", length: 1, offset: 0), TorrentFile(relativePath: "b", length: 1, offset: 1),
        ]
        other.setPiecesRoot(from: table, at: 0, to: 1)
        other.setPiecesRoot(source[..<32], of: [UInt8](source), at: 0)
        #expect(other[1].piecesRoot == [UInt8](0..<32))
        #expect(other[0].piecesRoot == Array(source[..<32]))
        table.setPiecesRoot(source[0..<31], of: source, at: 0)
        #expect(table[0].piecesRoot == nil, "a root is 32 bytes")
    }

    /// Pad files of a v2 layout store no name: it is made from their length.
    @Test func padFilesAreNamedByTheirLength() {
        var table = TorrentFiles(folder: "t")
        table.append(relativePath: Array("a".utf8), inFolder: true, length: 10, attributes: [], symlinkTarget: nil)
        table.appendPad(length: 16_374, at: 10)
        var single = TorrentFiles()
        single.appendPad(length: 5, at: 0)
        #expect(
            Array(table) == [
                TorrentFile(relativePath: "t/a", length: 10, offset: 0),
                TorrentFile(relativePath: "t/.pad/16374", length: 16_374, offset: 10, attributes: .pad),
            ])
        #expect(single[0].relativePath == ".pad/5")
        #expect(table.pathText.count == 1)
    }

    /// A parsed multi-file torrent keeps its folder apart, and reads back its paths.
    @Test func aParsedTorrentStoresItsFolderOnce() throws {
        let entries = (0..<300).map { index -> BencodeValue in
            .dictionary([
                Array("length".utf8): .integer(1),
                Array("path".utf8): .list([.text("d\(index % 7)"), .text("f\(index)")]),
            ])
        }
        let info: BencodeValue = .dictionary([
            Array("name".utf8): .text("pack"), Array("piece length".utf8): .integer(16_384),
            Array("files".utf8): .list(entries), Array("pieces".utf8): .string([UInt8](repeating: 1, count: 20)),
        ])
        let metainfo = try Metainfo(bytes: BencodeEncoder().encode(.dictionary([Array("info".utf8): info])))
        #expect(metainfo.files.folder == "pack")
        #expect(metainfo.files.count == 300)
        #expect(metainfo.files[299].relativePath == "pack/d5/f299")
        #expect(metainfo.files[299].offset == 299)
        #expect((0..<300).allSatisfy { metainfo.files.pathBytes(at: $0).inFolder })
    }
}

/// The tree that finds colliding paths: folders and files by (parent, name), names read in place.
@Suite(.timeLimit(.minutes(5))) struct PathTreeTests {
    @Test func foldersAreFoundAgainAndFilesClaimedOnce() {
        let text = Array("a/b/a/c".utf8)
        var tree = PathTree(text: text)
        let a = tree.folder(in: PathTree.root, named: 0..<1)
        let again = tree.folder(in: PathTree.root, named: 4..<5)
        let apart = tree.folder(in: PathTree.root, named: "a")
        let b = tree.folder(in: a, named: 2..<3)
        #expect(again == a, "the same name in the same folder")
        #expect(apart == a, "a name given apart finds the same node")
        #expect(b != a && b != PathTree.root)
        let claims = [
            tree.claimFile(in: PathTree.root, named: 0..<1),  // a folder's name
            tree.claimFile(in: a, named: 6..<7),  // a/c
            tree.claimFile(in: a, named: "c"),  // a/c again
            tree.claimFile(in: b, named: "c"),  // a/b/c: another folder
            tree.claimFile(in: a, named: "c.1"),
            tree.claimFile(in: a, named: "c.1"),
        ]
        #expect(claims == [false, true, false, true, true, false])
    }

    /// Far more names than the table first holds: it grows, and every name is found again.
    @Test func manyNamesSurviveGrowth() {
        var joined = ""
        for index in 0..<20_000 { joined += "n\(index)/" }
        let text = Array(joined.utf8)
        var tree = PathTree(text: text, capacity: 10)
        var ranges: [Range<Int>] = []
        var start = 0
        for (offset, byte) in text.enumerated() where byte == UInt8(ascii: "/") {
            ranges.append(start..<offset)
            start = offset + 1
        }
        var nodes: [Int] = []
        for range in ranges { nodes.append(tree.folder(in: PathTree.root, named: range)) }
        var again: [Int] = []
        for range in ranges { again.append(tree.folder(in: PathTree.root, named: range)) }
        var taken = 0
        for index in 0..<20_000 where !tree.claimFile(in: PathTree.root, named: "n\(index)") { taken += 1 }
        let inside = tree.claimFile(in: nodes[5], named: "n5")
        #expect(Set(nodes).count == 20_000)
        #expect(again == nodes)
        #expect(taken == 20_000)
        #expect(inside)
    }
}
