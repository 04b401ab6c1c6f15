import Testing

@testable import Engine

/// ``BlockRequest`` as a set's key: hashed from its piece and offset alone, compared on every field.
@Suite struct BlockRequestTests {
    @Test func equalRequestsHashAlikeAndEveryFieldTellsThemApart() {
        let request = BlockRequest(piece: 7, begin: 16_384, length: 16_384)
        #expect(request.hashValue == BlockRequest(piece: 7, begin: 16_384, length: 16_384).hashValue)
        // A peer's request with the same offset and another length is another request.
        let variants = [
            request, BlockRequest(piece: 7, begin: 16_384, length: 100),
            BlockRequest(piece: 7, begin: 0, length: 16_384),
            BlockRequest(piece: 8, begin: 16_384, length: 16_384),
        ]
        var set = Set(variants)
        #expect(set.count == variants.count)
        #expect(set.remove(BlockRequest(piece: 7, begin: 16_384, length: 100)) != nil)
        #expect(set.contains(request))
        #expect(!set.contains(BlockRequest(piece: 7, begin: 16_384, length: 100)))
    }

    @Test func theBlocksOfManyPiecesSpreadOverTheHashes() {
        let layout = PieceLayout(pieceLength: 1 << 20, totalLength: 64 << 20)
        let requests = layout.pieces.flatMap { layout.requests(in: $0) }
        #expect(Set(requests.map(\.hashValue)).count == requests.count)
    }
}
