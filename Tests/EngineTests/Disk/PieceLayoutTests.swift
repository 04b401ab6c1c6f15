import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5)))
struct PieceLayoutTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pieceLength: Int
        var total: Int64
        var pieceCount: Int
        var lastPiece: Int
        var blocksPerPiece: Int
        var lastPieceBlocks: [Int]
        var testDescription: String { "\(pieceLength)/\(total)" }
    }

    @Test(arguments: [
        Case(
            pieceLength: 65_536, total: 262_144, pieceCount: 4, lastPiece: 65_536, blocksPerPiece: 4,
            lastPieceBlocks: [16_384, 16_384, 16_384, 16_384]),
        Case(
            pieceLength: 65_536, total: 200_000, pieceCount: 4, lastPiece: 3_392, blocksPerPiece: 4,
            lastPieceBlocks: [3_392]),
        Case(
            pieceLength: 65_536, total: 180_000, pieceCount: 3, lastPiece: 48_928, blocksPerPiece: 4,
            lastPieceBlocks: [16_384, 16_384, 16_160]),
        Case(pieceLength: 32_768, total: 1, pieceCount: 1, lastPiece: 1, blocksPerPiece: 2, lastPieceBlocks: [1]),
        Case(
            pieceLength: 8_192, total: 20_000, pieceCount: 3, lastPiece: 3_616, blocksPerPiece: 1,
            lastPieceBlocks: [3_616]),
        Case(pieceLength: 65_536, total: 0, pieceCount: 0, lastPiece: 0, blocksPerPiece: 4, lastPieceBlocks: []),
    ])
    func geometry(_ c: Case) {
        let layout = PieceLayout(pieceLength: c.pieceLength, totalLength: c.total)
        #expect(layout.pieceCount == c.pieceCount)
        #expect(layout.lastPieceLength == c.lastPiece)
        #expect(layout.blocksPerPiece == c.blocksPerPiece)
        guard c.pieceCount > 0 else { return }
        let last = PieceIndex(c.pieceCount - 1)
        #expect(layout.length(of: last) == c.lastPiece)
        #expect(layout.blockCount(in: last) == c.lastPieceBlocks.count)
        let lengths = (0..<layout.blockCount(in: last)).map { layout.blockLength(piece: last, block: BlockIndex($0)) }
        #expect(lengths == c.lastPieceBlocks)
        #expect(layout.requests(in: last).map { Int($0.length) } == c.lastPieceBlocks)
        let lengthSum = layout.pieces.reduce(Int64(0)) { $0 + Int64(layout.length(of: $1)) }
        #expect(lengthSum == c.total)
    }

    @Test func validatesRequests() {
        let layout = PieceLayout(pieceLength: 65_536, totalLength: 200_000)
        #expect(layout.block(for: BlockRequest(piece: 1, begin: 16_384, length: 16_384)) == 1)
        #expect(layout.block(for: BlockRequest(piece: 3, begin: 0, length: 3_392)) == 0)
        #expect(layout.block(for: BlockRequest(piece: 3, begin: 0, length: 16_384)) == nil)
        #expect(layout.block(for: BlockRequest(piece: 1, begin: 100, length: 16_384)) == nil)
        #expect(layout.block(for: BlockRequest(piece: 4, begin: 0, length: 16_384)) == nil)
        #expect(layout.block(for: BlockRequest(piece: 0, begin: 65_536, length: 16_384)) == nil)
        #expect(layout.isValidRange(piece: 3, begin: 3_000, length: 392))
        #expect(!layout.isValidRange(piece: 3, begin: 3_000, length: 393))
        #expect(layout.piece(containing: 65_535) == 0)
        #expect(layout.piece(containing: 65_536) == 1)
    }
}
