import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PathSanitizerTests {
    static let cases: [([UInt8], String?)] = [
        (Array("foo.txt".utf8), "foo.txt"),
        (Array("".utf8), nil),
        (Array(".".utf8), nil),
        (Array("..".utf8), nil),
        (Array("...".utf8), "..."),
        (Array("a/b".utf8), "ab"),
        (Array("a\\b".utf8), "ab"),
        (Array("/".utf8), nil),
        (Array("/..".utf8), nil),
        (Array("abc/../../def".utf8), "abc....def"),
        ([UInt8(ascii: "a"), 0, UInt8(ascii: "b")], "ab"),
        (Array("tab\there\u{7F}".utf8), "tab_here_"),
        (Array("\u{202E}gpj.exe".utf8), "gpj.exe"),
        (Array("zero\u{200B}width\u{FEFF}".utf8), "zerowidth"),
        ([0x82, UInt8(ascii: "e"), UInt8(ascii: "s"), UInt8(ascii: "t")], "_est"),
        ([0xF0, 0x9F, 0x98], "_"),
        (Array("foobar ".utf8), "foobar "),
        (Array("ünïcödé".utf8), "ünïcödé"),
    ]

    @Test(arguments: cases)
    func sanitize(raw: [UInt8], expected: String?) {
        #expect(PathSanitizer.sanitize(raw) == expected)
    }

    @Test func unusableElementsBecomeUnderscores() {
        #expect(PathSanitizer.sanitizeElement(Array("..".utf8)) == "_")
        #expect(PathSanitizer.sanitizeElement([UInt8]()) == "_")
        #expect(PathSanitizer.sanitizeElement(Array("//".utf8)) == "_")
    }

    @Test func longElementsAreCutKeepingTheExtension() throws {
        let long = String(repeating: "abcdefghij", count: 30) + ".txt"
        let cut = try #require(PathSanitizer.sanitize(Array(long.utf8)))
        #expect(cut.utf8.count == 255)
        #expect(cut.hasSuffix(".txt"))
        #expect(cut.hasPrefix("abcdefghij"))
        // Multi-byte characters are never split.
        let accents = String(repeating: "é", count: 300)
        let cutAccents = try #require(PathSanitizer.sanitize(Array(accents.utf8)))
        #expect(cutAccents.utf8.count <= 255)
        #expect(cutAccents.allSatisfy { $0 == "é" })
    }

    @Test func renamesInsertANumberBeforeTheExtension() {
        #expect(PathSanitizer.renamed("bar.txt", number: 1) == "bar.1.txt")
        #expect(PathSanitizer.renamed("bar", number: 2) == "bar.2")
        #expect(PathSanitizer.renamed(".hidden", number: 1) == ".hidden.1")
        let long = String(repeating: "x", count: 251) + ".txt"
        let renamed = PathSanitizer.renamed(long, number: 12)
        #expect(renamed.utf8.count == 255)
        #expect(renamed.hasSuffix(".12.txt"))
    }

    @Test func duplicatesAndFileFolderClashesAreRenamed() throws {
        var files: TorrentFiles = [
            TorrentFile(path: ["t", "a"], length: 1, offset: 0),
            TorrentFile(path: ["t", "a", "x"], length: 1, offset: 1),
            TorrentFile(path: ["t", "b.txt"], length: 1, offset: 2),
            TorrentFile(path: ["t", "b.txt"], length: 1, offset: 3),
            TorrentFile(path: ["t", "b.1.txt"], length: 1, offset: 4),
            TorrentFile(path: ["t", ".pad", "7"], length: 7, offset: 5, attributes: .pad),
            TorrentFile(path: ["t", ".pad", "7"], length: 7, offset: 12, attributes: .pad),
        ]
        try DuplicatePathResolver.resolve(&files, maxRenames: 100)
        #expect(
            files.map(\.displayPath) == [
                "t/a.1", "t/a/x", "t/b.txt", "t/b.1.txt", "t/b.1.1.txt", "t/.pad/7", "t/.pad/7",
            ])
    }

    @Test func tooManyCollisionsAreRefused() {
        var files = TorrentFiles((0..<5).map { TorrentFile(path: ["t", "same"], length: 1, offset: Int64($0)) })
        #expect {
            try DuplicatePathResolver.resolve(&files, maxRenames: 3)
        } throws: { error in
            (error as? MetainfoError)?.category == .tooManyDuplicateFilenames
        }
    }
}
