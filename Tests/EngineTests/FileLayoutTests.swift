import Testing

@testable import Engine

/// ``FileLayout`` on its own: offsets of a v1 list, overflow, and the check that a hybrid torrent's
/// v1 list matches its v2 tree.
@Suite(.timeLimit(.minutes(5))) struct FileLayoutTests {
    static let rootA = [UInt8](repeating: 1, count: 32)
    static let rootB = [UInt8](repeating: 2, count: 32)

    static func file(_ name: String, _ length: Int64, at offset: Int64 = 0, root: [UInt8]? = nil) -> TorrentFile {
        TorrentFile(path: ["top", name], length: length, offset: offset, piecesRoot: root)
    }

    static func pad(_ length: Int64, at offset: Int64 = 0) -> TorrentFile {
        TorrentFile(path: ["top", ".pad", "\(length)"], length: length, offset: offset, attributes: .pad)
    }

    /// The v2 tree of two files of 100 and 10 bytes, with 16 KiB pieces, as `TorrentFilesParser`
    /// lays it out.
    static let v2 = TorrentFiles(
        [file("a", 100, root: rootA), pad(16284, at: 100), file("b", 10, at: 16384, root: rootB)], folder: "top")

    @Test func v1FilesAreBackToBack() throws {
        var files = TorrentFiles([Self.file("a", 3), Self.file("b", 0), Self.file("c", 5)], folder: "top")
        try FileLayout.layOutV1(&files)
        #expect(files.map(\.offset) == [0, 3, 3])
        var huge = TorrentFiles([Self.file("a", .max), Self.file("b", 1)], folder: "top")
        #expect(MetainfoError.category { try FileLayout.layOutV1(&huge) } == .invalidLength)
    }

    @Test func alignUpRoundsToPieces() throws {
        #expect(try FileLayout.alignUp(0, 16384) == 0)
        #expect(try FileLayout.alignUp(100, 16384) == 16384)
        #expect(try FileLayout.alignUp(16384, 16384) == 16384)
        #expect(MetainfoError.category { _ = try FileLayout.alignUp(.max - 1, 16384) } == .invalidLength)
        #expect(MetainfoError.category { _ = try FileLayout.add(.max, 1) } == .invalidLength)
    }

    @Test func hybridListTakesTheTreesRoots() throws {
        for tail: Int64 in [0, 16374] {
            var v1 = TorrentFiles(
                [Self.file("a", 100), Self.pad(16284), Self.file("b", 10)] + (tail > 0 ? [Self.pad(tail)] : []),
                folder: "top")
            try FileLayout.layOutV1(&v1)
            try FileLayout.layOutHybrid(&v1, v2: Self.v2, pieceLength: 16384)
            #expect(v1[0].piecesRoot == Self.rootA)
            #expect(v1[1].piecesRoot == nil)
            #expect(v1[2].piecesRoot == Self.rootB)
        }
    }

    @Test func hybridHalvesThatDisagreeAreRefused() throws {
        let lists: [[TorrentFile]] = [
            // b does not start on a piece boundary.
            [Self.file("a", 100), Self.file("b", 10)],
            // Another length, another name, a file too few.
            [Self.file("a", 101), Self.pad(16283), Self.file("b", 10)],
            [Self.file("a", 100), Self.pad(16284), Self.file("c", 10)],
            [Self.file("a", 100)],
            // Padded past the last piece.
            [Self.file("a", 100), Self.pad(16284), Self.file("b", 10), Self.pad(32758)],
        ]
        for list in lists {
            var v1 = TorrentFiles(list, folder: "top")
            try FileLayout.layOutV1(&v1)
            #expect(
                MetainfoError.category { try FileLayout.layOutHybrid(&v1, v2: Self.v2, pieceLength: 16384) }
                    == .inconsistentFiles)
        }
    }
}
