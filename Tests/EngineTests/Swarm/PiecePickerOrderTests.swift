import Testing

@testable import Engine

/// Download orders (sequential, first-last) and file priorities, with started pieces finished first
/// and endgame kept.
@Suite(.timeLimit(.minutes(5)))
struct PiecePickerOrderTests {
    typealias F = PickerFixture

    /// The piece each of `picks` one-piece picks (4 blocks, one piece) starts, from `peerHas`.
    static func piecesPicked(
        _ picker: inout PiecePicker, picks: Int, peer: PeerKey = 1, peerHas: (PieceIndex) -> Bool = F.seed
    ) -> [Int] {
        (0..<picks).flatMap { _ in F.pieces(picker.pickBlocks(for: peer, count: 4, peerHas: peerHas)) }
    }

    @Test func sequentialStartsPiecesInIndexOrder() {
        // Availability falls towards the end: rarest first would start with piece 7.
        var picker = F.picker("98765432", randomFirst: 4)
        picker.order = .sequential
        #expect(Self.piecesPicked(&picker, picks: 8) == [0, 1, 2, 3, 4, 5, 6, 7])
    }

    @Test func rarestIsTheDefaultAndDiffers() {
        var picker = F.picker("98765432")
        #expect(picker.order == .rarest)
        #expect(Self.piecesPicked(&picker, picks: 3) == [7, 6, 5])
    }

    @Test func sequentialSkipsWhatIsVerifiedUnwantedOrMissingAtThePeer() {
        var picker = F.picker("11111111", "x x     ", "44404444")
        picker.order = .sequential
        #expect(Self.piecesPicked(&picker, picks: 2, peerHas: F.peer("11111011")) == [1, 4])
        // A piece wanted again below the cursor comes next.
        picker.setPriority(.normal, of: 3)
        #expect(Self.piecesPicked(&picker, picks: 3) == [3, 5, 6])
    }

    @Test func sequentialFinishesStartedPiecesFirst() {
        // Piece 5 has block 0 written from before: its other blocks come before piece 0.
        var picker = F.picker("11111111", "", "", "     1")
        picker.order = .sequential
        #expect(F.render(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == "5.1 5.2 5.3 0.0")
        #expect(F.render(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)) == "0.1 0.2 0.3 1.0")
        // A piece started by another peer's picks is finished before a new one is started.
        #expect(F.render(picker.pickBlocks(for: 2, count: 2, peerHas: F.seed)) == "1.1 1.2")
    }

    @Test func sequentialFollowsPrioritiesFirst() {
        var picker = F.picker("11111111", "", "44174414")
        picker.order = .sequential
        #expect(Self.piecesPicked(&picker, picks: 8) == [3, 0, 1, 4, 5, 7, 2, 6])
    }

    @Test func sequentialKeepsEndgame() {
        var picker = F.picker("22")
        picker.order = .sequential
        #expect(F.render(picker.pickBlocks(for: 1, count: 8, peerHas: F.seed)) == "0.0 0.1 0.2 0.3 1.0 1.1 1.2 1.3")
        #expect(picker.isEndgame)
        #expect(picker.pickBlocks(for: 2, count: 8, peerHas: F.seed).count == 8)
    }

    @Test func orderChangesTakeEffectAtTheNextPick() {
        var picker = F.picker("98765432")
        #expect(Self.piecesPicked(&picker, picks: 1) == [7])
        picker.order = .sequential
        #expect(Self.piecesPicked(&picker, picks: 2) == [0, 1])
        picker.order = .rarest
        #expect(Self.piecesPicked(&picker, picks: 1) == [6])
    }

    /// Two files: a = pieces 0-3, b = pieces 4-9 (64 KiB pieces). Availability makes every first and
    /// last piece common, so rarest first alone would start with the others.
    static func twoFiles(_ priorities: [PiecePriority]) -> PiecePicker {
        let files = makeFiles([("a", 4 * 65_536), ("b", 6 * 65_536)])
        let layout = PieceLayout(pieceLength: F.pieceLength, totalLength: 10 * 65_536)
        var picker = PiecePicker(layout: layout, random: SeededRandom(seed: 5))
        picker.randomFirstPieces = 0
        for (piece, count) in [9, 1, 1, 9, 9, 1, 2, 2, 2, 9].enumerated() {
            for _ in 0..<count { picker.addAvailability(PieceIndex(piece)) }
        }
        picker.setFilePriorities(priorities, map: FileSpanMap(files: files, layout: layout))
        picker.order = .firstLast
        return picker
    }

    @Test func firstLastStartsTheEndsOfEachFileThenRarest() {
        var picker = Self.twoFiles([.normal, .normal])
        let picked = Self.piecesPicked(&picker, picks: 10)
        #expect(Array(picked.prefix(4)) == [0, 3, 4, 9])
        #expect(Set(picked[4..<7]) == [1, 2, 5])
        #expect(Set(picked[7...]) == [6, 7, 8])
    }

    @Test func firstLastLeavesOutSkippedFiles() {
        var picker = Self.twoFiles([.skip, .normal])
        let picked = Self.piecesPicked(&picker, picks: 6)
        #expect(Array(picked.prefix(2)) == [4, 9])
        #expect(picked[2] == 5)
        #expect(Set(picked) == Set(4...9))
    }

    @Test func higherPriorityFilesComeFirstInEveryOrder() {
        for order in DownloadOrder.allCases {
            var picker = Self.twoFiles([.low, .highest])
            picker.order = order
            let picked = Self.piecesPicked(&picker, picks: 10)
            #expect(Set(picked.prefix(6)) == Set(4...9), "\(order): \(picked)")
            #expect(Set(picked.suffix(4)) == Set(0...3), "\(order): \(picked)")
            if order == .sequential { #expect(picked == [4, 5, 6, 7, 8, 9, 0, 1, 2, 3]) }
            if order == .firstLast { #expect(Array(picked.prefix(2)) == [4, 9] && Array(picked[6..<8]) == [0, 3]) }
        }
    }

    /// Random first pieces are drawn from the highest priority only.
    @Test func randomFirstPiecesKeepPriorities() {
        for seed in 1...20 {
            var picker = F.picker("1111111111", "", "4444444474", seed: UInt64(seed), randomFirst: 4)
            #expect(Self.piecesPicked(&picker, picks: 1) == [8], "seed \(seed)")
            let next = Self.piecesPicked(&picker, picks: 1)
            #expect(next.count == 1 && next[0] != 8, "seed \(seed)")
        }
    }

    @Test func aPieceSharedByTwoFilesTakesTheHigherPriority() {
        // a = 0..<100,000 (pieces 0-1), b = ..<262,144 (pieces 1-3): piece 1 is shared.
        let files = makeFiles([("a", 100_000), ("b", 162_144)])
        let layout = PieceLayout(pieceLength: F.pieceLength, totalLength: 262_144)
        var picker = PiecePicker(layout: layout)
        picker.setFilePriorities([.low, .highest], map: FileSpanMap(files: files, layout: layout))
        #expect(layout.pieces.map { picker.priority(of: $0) } == [.low, .highest, .highest, .highest])
        picker.order = .sequential
        picker.addSeed()
        #expect(Self.piecesPicked(&picker, picks: 4) == [1, 2, 3, 0])
    }
}
