import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5)))
struct FileSpanMapTests {
    /// A compact span: `file@offset+length`, with `p` appended for pad files.
    static func render(_ spans: [FileSpan]) -> String {
        spans.map { "\($0.file.value)@\($0.fileOffset)+\($0.length)\($0.isPad ? "p" : "")" }.joined(separator: " ")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var pieceLength: Int
        var files: [Int64]
        var pads: Set<Int> = []
        /// Per piece, the rendered spans.
        var pieces: [String]
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(
            name: "single file, short last piece", pieceLength: 100, files: [250],
            pieces: ["0@0+100", "0@100+100", "0@200+50"]),
        Case(
            name: "files smaller than a piece", pieceLength: 100, files: [30, 30, 30, 30],
            pieces: ["0@0+30 1@0+30 2@0+30 3@0+10", "3@10+20"]),
        Case(
            name: "empty files are skipped", pieceLength: 100, files: [0, 50, 0, 0, 100, 0],
            pieces: ["1@0+50 4@0+50", "4@50+50"]),
        Case(
            name: "file spanning pieces", pieceLength: 100, files: [10, 300, 5],
            pieces: ["0@0+10 1@0+90", "1@90+100", "1@190+100", "1@290+10 2@0+5"]),
        Case(
            name: "pad files", pieceLength: 100, files: [70, 30, 100, 20], pads: [1],
            pieces: ["0@0+70 1@0+30p", "2@0+100", "3@0+20"]),
        Case(
            name: "file ends on a piece boundary", pieceLength: 100, files: [100, 100],
            pieces: ["0@0+100", "1@0+100"]),
    ])
    func piecesMapToSpans(_ c: Case) {
        let files = makeFiles(c.files.enumerated().map { ("f\($0.offset)", $0.element) }, pads: c.pads)
        let map = FileSpanMap(
            files: files, layout: PieceLayout(pieceLength: c.pieceLength, totalLength: c.files.reduce(0, +)))
        #expect(map.layout.pieceCount == c.pieces.count)
        for (index, expected) in c.pieces.enumerated() {
            #expect(Self.render(map.spans(piece: PieceIndex(index))) == expected, "piece \(index)")
        }
    }

    @Test(arguments: [
        (0, 10, "1@0+10"),
        (45, 10, "1@45+5 4@0+5"),
        (49, 1, "1@49+1"),
        (50, 1, "4@0+1"),
        (0, 150, "1@0+50 4@0+100"),
        (149, 1, "4@99+1"),
    ])
    func streamRanges(offset: Int, length: Int, expected: String) {
        let files = makeFiles([("a", 0), ("b", 50), ("c", 0), ("d", 0), ("e", 100), ("f", 0)])
        let map = FileSpanMap(files: files, layout: PieceLayout(pieceLength: 64, totalLength: 150))
        #expect(Self.render(map.spans(streamOffset: Int64(offset), length: length)) == expected)
    }

    @Test func blocksInsidePieces() {
        let map = SampleTorrent.map
        // Piece 0 = a.txt (10,000) + 22,768 bytes of b.bin.
        #expect(Self.render(map.spans(piece: 0, begin: 0, length: 16_384)) == "0@0+10000 2@0+6384")
        #expect(Self.render(map.spans(piece: 0, begin: 16_384, length: 16_384)) == "2@6384+16384")
        // Piece 1 starts at 32,768: b.bin 22,768..<40,000, then the whole pad file.
        #expect(
            Self.render(map.spans(for: BlockRequest(piece: 1, begin: 16_384, length: 16_384)))
                == "2@39152+848 3@0+15536p")
        // The last block of the short last piece: 4,469 bytes.
        let last = map.layout.requests(in: 4).last!
        #expect(last.length == 4_469)
        #expect(Self.render(map.spans(for: last)) == "4@65536+4464 5@0+5")
    }

    @Test func pieceRangesOfFiles() {
        let map = SampleTorrent.map
        #expect(map.pieceRange(touching: 0) == PieceIndex(0)...PieceIndex(0))
        #expect(map.pieceRange(touching: 1) == nil)
        #expect(map.pieceRange(touching: 2) == PieceIndex(0)...PieceIndex(1))
        #expect(map.pieceRange(touching: 3) == PieceIndex(1)...PieceIndex(1))
        #expect(map.pieceRange(touching: 4) == PieceIndex(2)...PieceIndex(4))
        #expect(map.pieceRange(touching: 5) == PieceIndex(4)...PieceIndex(4))
        #expect(map.files(in: 4) == [4, 5])
        #expect(map.isPad(3) && !map.isPad(4))
    }

    @Test func spansCoverEveryPieceExactly() {
        let map = SampleTorrent.map
        var covered: [Int64] = Array(repeating: 0, count: map.fileCount)
        for piece in map.layout.pieces {
            let spans = map.spans(piece: piece)
            #expect(spans.reduce(0) { $0 + $1.length } == map.layout.length(of: piece))
            #expect(spans.allSatisfy { $0.length > 0 })
            for span in spans {
                #expect(span.fileOffset == covered[span.file.value])
                covered[span.file.value] += Int64(span.length)
            }
        }
        #expect(covered == SampleTorrent.files.map(\.length))
    }
}
