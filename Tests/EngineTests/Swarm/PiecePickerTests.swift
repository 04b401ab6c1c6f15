import Testing

@testable import Engine

/// Rarest first, random first pieces, finishing started pieces, priorities.
@Suite(.timeLimit(.minutes(5)))
struct PiecePickerTests {
    typealias F = PickerFixture

    struct Case: Sendable, CustomTestStringConvertible {
        var availability: String
        var have = ""
        var priority = ""
        var peer = ""
        var expected: Int
        var testDescription: String { "\(availability)|\(have)|\(priority)|\(peer) -> \(expected)" }
    }

    @Test(arguments: [
        Case(availability: "1234567", expected: 0),
        Case(availability: "7654321", expected: 6),
        Case(availability: "3332333", expected: 3),
        Case(availability: "2493459", have: "x      ", expected: 3),
        Case(availability: "1234567", peer: "0011111", expected: 2),
        Case(availability: "1234567", priority: "1111171", expected: 5),
        Case(availability: "1234567", priority: "0004444", expected: 3),
        Case(availability: "1234567", have: "xxx    ", priority: "4444404", peer: "1111101", expected: 3),
    ])
    func rarestFirst(_ c: Case) {
        var picker = F.picker(c.availability, c.have, c.priority)
        let peer = c.peer.isEmpty ? F.seed : F.peer(c.peer)
        let picked = picker.pickBlocks(for: 1, count: 4, peerHas: peer)
        #expect(F.render(picked) == (0..<4).map { "\(c.expected).\($0)" }.joined(separator: " "))
    }

    @Test func tiesAreBrokenAtRandom() {
        var firstPicks: Set<Int> = []
        for seed in 1...40 {
            var picker = F.picker("3331111111", seed: UInt64(seed))
            let piece = F.pieces(picker.pickBlocks(for: 1, count: 1, peerHas: F.seed))[0]
            #expect(piece >= 3)
            firstPicks.insert(piece)
        }
        #expect(firstPicks.count >= 4)
    }

    @Test func availabilityChangesReorderPieces() {
        var picker = F.picker("2222")
        picker.removeAvailability(PieceIndex(2))
        #expect(F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == [2])
        picker.addAvailability([PieceIndex(1), PieceIndex(1)])
        picker.removeAvailability([PieceIndex(3), PieceIndex(3)])
        #expect(picker.availability(of: 3) == 0)
        // Piece 3 now has no known source: only pieces the peer has and someone announced are picked.
        #expect(F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == [0])
        picker.addSeed()
        #expect(picker.availability(of: 3) == 1)
        #expect(F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == [3])
    }

    @Test func seedsMakeEveryPieceAvailable() {
        var picker = F.picker("0000")
        #expect(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed).isEmpty)
        picker.addSeed()
        #expect(picker.pickBlocks(for: 1, count: 16, peerHas: F.seed).count == 16)
        picker.removeSeed()
        #expect(picker.seedCount == 0)
    }

    @Test func firstPiecesAreRandomThenRarest() {
        var firstPicks: Set<Int> = []
        for seed in 1...30 {
            var picker = F.picker("1999999999", seed: UInt64(seed), randomFirst: 4)
            firstPicks.insert(F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed))[0])
        }
        #expect(firstPicks.count >= 5, "random first picks: \(firstPicks.sorted())")
        // Random picks stay within what the peer has.
        for seed in 1...20 {
            var picker = F.picker("1999999999", seed: UInt64(seed), randomFirst: 4)
            #expect([8, 9].contains(F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.peer("0000000011")))[0]))
        }
        // With 4 pieces verified, the rarest is picked.
        var picker = F.picker("1999999999", "  xxxx    ", seed: 7, randomFirst: 4)
        #expect(F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == [0])
    }

    @Test func startedPiecesAreFinishedFirst() {
        // Piece 4 (blocks 0 and 1 written) is continued although piece 0 is rarer.
        var picker = F.picker("1222222", "", "", "    3  ")
        let picked = picker.pickBlocks(for: 1, count: 6, peerHas: F.seed)
        #expect(F.render(picked) == "4.2 4.3 0.0 0.1 0.2 0.3")
    }

    @Test func aSecondPeerContinuesThePieceOfTheFirst() {
        var picker = F.picker("1111111")
        let first = picker.pickBlocks(for: 1, count: 2, peerHas: F.seed)
        let piece = first[0].piece.value
        #expect(F.render(first) == "\(piece).0 \(piece).1")
        let second = picker.pickBlocks(for: 2, count: 3, peerHas: F.seed)
        #expect(F.render(second).hasPrefix("\(piece).2 \(piece).3 "))
        #expect(F.pieces(second).count == 2)
        #expect(F.states(picker, PieceIndex(piece)) == "rrrr")
        // A peer without that piece starts another one instead.
        var other = F.picker("1111111")
        let start = other.pickBlocks(for: 1, count: 2, peerHas: F.seed)[0].piece.value
        var mask = Array(repeating: "1", count: 7)
        mask[start] = "0"
        let third = other.pickBlocks(for: 3, count: 2, peerHas: F.peer(mask.joined()))
        #expect(F.pieces(third).count == 1 && F.pieces(third)[0] != start)
    }

    @Test func olderPartialPiecesComeFirst() {
        var picker = F.picker("1111111", "", "", "  1  7 ")
        // Piece 2 was restored first, then piece 5.
        #expect(picker.piecesInProgress == [2, 5])
        #expect(F.render(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == "2.1 2.2 2.3 5.3")
        #expect(picker.writtenBlocks(in: 5) == [0, 1, 2])
    }

    @Test func progressCountsPiecesVerifiedOrWantedAndTheirBytes() {
        // Piece 0 verified, 1 wanted, 2 skipped, 3 skipped but verified, 4 (100 bytes) wanted.
        let picker = F.picker("11111", "x  x ", "44004", lastPieceLength: 100)
        let length = Int64(F.pieceLength)
        let progress = picker.progress
        #expect(progress.piecesWanted == 4 && progress.piecesDone == 2)
        #expect(progress.bytesWanted == 3 * length + 100 && progress.bytesDone == 2 * length)
        #expect(progress.bytesLeft == length + 100)
        #expect(F.picker("11", "xx").progress.bytesLeft == 0)
    }

    @Test func writtenBlockMasksAreOfPiecesInProgressWithBlocksInTheFiles() {
        var picker = F.picker("1111111", "", "", "  1  7 ")
        // Starts a third piece: in progress, with nothing in the files yet.
        let picked = picker.pickBlocks(for: 1, count: 8, peerHas: F.seed)
        #expect(Set(F.pieces(picked)).count == 3 && picker.piecesInProgress.count == 3)
        let masks = picker.writtenBlockMasks
        #expect(Set(masks.keys) == [2, 5])
        #expect(masks[2]?.setIndices == [0] && masks[5]?.setIndices == [0, 1, 2])
        #expect(masks[5]?.count == 4)
    }

    @Test func haveAndSkippedPiecesAreNeverRequested() {
        var picker = F.picker("1111", "x   ", "4404")
        let picked = picker.pickBlocks(for: 1, count: 100, peerHas: F.seed)
        #expect(Set(F.pieces(picked)) == [1, 3])
        #expect(picked.count == 8)
        #expect(!picker.isInterested(in: F.peer("1010")))
        #expect(picker.isInterested(in: F.peer("0001")))
        #expect(picker.wantedMissingCount == 2)
    }

    @Test func shortLastPieceHasShortBlocks() {
        var picker = F.picker("9991", lastPieceLength: 20_000)
        let picked = picker.pickBlocks(for: 1, count: 2, peerHas: F.seed)
        #expect(
            picked == [
                BlockRequest(piece: 3, begin: 0, length: 16_384), BlockRequest(piece: 3, begin: 16_384, length: 3_616),
            ])
    }

    @Test func filePrioritiesMapOntoPieces() {
        // Pieces of 64 KiB: a = 0..<100,000 (pieces 0-1), b = ..<200,000 (1-3), c = ..<262,144 (3).
        let files = makeFiles([("a", 100_000), ("b", 100_000), ("c", 62_144)])
        let layout = PieceLayout(pieceLength: F.pieceLength, totalLength: 262_144)
        let map = FileSpanMap(files: files, layout: layout)
        var picker = PiecePicker(layout: layout, random: SeededRandom(seed: 3))
        picker.randomFirstPieces = 0
        picker.setFilePriorities([.skip, .normal, .skip], map: map)
        #expect(layout.pieces.map(picker.wants) == [false, true, true, true])
        picker.setFilePriorities([.normal, .skip, .normal], map: map)
        #expect(layout.pieces.map(picker.wants) == [true, true, false, true])
        picker.setFilePriorities([.low, .skip, .highest], map: map)
        #expect(layout.pieces.map { picker.priority(of: $0).level } == [1, 1, 0, 7])
        picker.addSeed()
        let order = F.pieces(picker.pickBlocks(for: 1, count: 12, peerHas: F.seed))
        #expect(order.first == 3 && Set(order) == [0, 1, 3])
    }

    @Test func padFilesDoNotMakeAPieceWanted() {
        // a = 0..<70,000 (pieces 0-1), pad to 131,072 (piece 1), b = two full pieces (2-3).
        let files = makeFiles([("a", 70_000), (".pad/61072", 61_072), ("b", 131_072)], pads: [1])
        let layout = PieceLayout(pieceLength: F.pieceLength, totalLength: 262_144)
        var picker = PiecePicker(layout: layout)
        picker.setFilePriorities([.skip, .normal, .normal], map: FileSpanMap(files: files, layout: layout))
        #expect(layout.pieces.map(picker.wants) == [false, false, true, true])
        picker.pieceVerified(2)
        #expect(!picker.isComplete)
        picker.pieceVerified(3)
        #expect(picker.isComplete)
    }
}
