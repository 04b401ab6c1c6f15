import Testing

@testable import Engine

/// The bounds and bookkeeping of ``V2BlockCheck``: pieces watched at once, answers only from the peer
/// asked and for the request asked, rejects, expiry and peers that left.
@Suite(.timeLimit(.minutes(1)))
struct V2BlockCheckTests {
    static let zero = [UInt8](repeating: 0, count: 32)
    static let leaves = (0..<4 * 32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    static let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 7000)

    static func failed(_ index: UInt32) -> V2BlockCheck.Failed {
        let request = HashRequest(piecesRoot: zero, baseLayer: 0, index: index * 4, length: 4, proofLayers: 0)
        var received = leaves
        received[40] ^= 1  // block 1 differs
        return V2BlockCheck.Failed(
            request: request, expected: MerkleTree.root(ofLayer: leaves, padding: zero), received: received,
            dataLength: 4 * 16_384, senders: [0: address, 1: PeerAddress(host: .ipv4(127, 0, 0, 2), port: 1)],
            digests: [])
    }

    @Test func atMostSoManyPiecesAreWatched() {
        var check = V2BlockCheck()
        var watched = 0
        for piece in 0..<V2BlockCheck.maxPieces where check.watch(PieceIndex(piece), Self.failed(UInt32(piece))) {
            watched += 1
        }
        #expect(watched == V2BlockCheck.maxPieces && !check.hasRoom)
        let overflow = check.watch(PieceIndex(99), Self.failed(99))
        #expect(!overflow)
        _ = check.giveUp(PieceIndex(0))
        let again = check.watch(PieceIndex(99), Self.failed(99))
        #expect(again)
    }

    @Test func onlyTheAnswerOfThePeerAskedCountsAndSettlesThePiece() {
        var check = V2BlockCheck()
        let piece = PieceIndex(3)
        let failed = Self.failed(3)
        _ = check.watch(piece, failed)
        check.asked(piece, key: 5, address: Self.address, now: .now)
        let stranger = check.answered(failed.request, hashes: Self.leaves, from: 6)
        #expect(stranger == .ignored, "not the peer asked")
        var other = failed.request
        other.index += 4
        let unasked = check.answered(other, hashes: Self.leaves, from: 5)
        #expect(unasked == .ignored, "not the request asked")
        let rejected = check.rejected(other, from: 5)
        #expect(rejected == nil)
        let verdict = check.answered(failed.request, hashes: Self.leaves, from: 5)
        #expect(
            verdict == .verdict(piece, .init(badBlocks: [1], liars: [PeerAddress(host: .ipv4(127, 0, 0, 2), port: 1)])))
        #expect(check.failed.isEmpty && check.known[piece]?.leaves == Self.leaves)
        let again = check.answered(failed.request, hashes: Self.leaves, from: 5)
        #expect(again == .ignored, "settled once")
        check.pieceChecked(piece)
        #expect(check.known.isEmpty)
    }

    @Test func rejectsExpiryAndPeersThatLeftFreeTheQuestion() {
        var check = V2BlockCheck()
        let now = ContinuousClock.now
        for piece in 0..<3 {
            _ = check.watch(PieceIndex(piece), Self.failed(UInt32(piece)))
            check.asked(PieceIndex(piece), key: PeerKey(piece), address: Self.address, now: now)
        }
        let rejected = check.rejected(Self.failed(0).request, from: 0)
        #expect(rejected == PieceIndex(0))
        #expect(check.failed[PieceIndex(0)]?.outstanding == nil)
        #expect(check.failed[PieceIndex(0)]?.asked == [Self.address])
        let early = check.unanswered(now: now + .seconds(1)) { $0 == 2 }
        #expect(early.expired.isEmpty && early.gone == [PieceIndex(2)])
        let late = check.unanswered(now: now + V2BlockCheck.requestTimeout) { _ in false }
        #expect(late.expired == [PieceIndex(1)] && late.gone.isEmpty)
        let late1 = check.answered(Self.failed(1).request, hashes: Self.leaves, from: 1)
        #expect(late1 == .ignored, "too late")
    }

    @Test func leavesThatDoNotFoldToThePieceHashAreALie() {
        var check = V2BlockCheck()
        let piece = PieceIndex(0)
        _ = check.watch(piece, Self.failed(0))
        check.asked(piece, key: 1, address: Self.address, now: .now)
        let lie = check.answered(Self.failed(0).request, hashes: Self.leaves.reversed(), from: 1)
        #expect(lie == .lie(piece))
        #expect(check.failed[piece] != nil && check.failed[piece]?.outstanding == nil, "someone else is asked")
    }

    /// A file of one piece has fewer leaves than its piece has blocks (the rest is pad): only the
    /// file's leaves are compared.
    @Test func aOnePieceFileComparesOnlyItsLeaves() {
        var check = V2BlockCheck()
        let piece = PieceIndex(0)
        let leaves = Array(Self.leaves[0..<64])
        var received = leaves + Self.zero + Self.zero
        received[0] ^= 1
        let request = HashRequest(piecesRoot: Self.zero, baseLayer: 0, index: 0, length: 2, proofLayers: 0)
        let failed = V2BlockCheck.Failed(
            request: request, expected: MerkleTree.root(ofLayer: leaves, padding: Self.zero), received: received,
            dataLength: 20_000, senders: [0: Self.address], digests: [])
        _ = check.watch(piece, failed)
        check.asked(piece, key: 1, address: Self.address, now: .now)
        let verdict = check.answered(request, hashes: leaves, from: 1)
        #expect(verdict == .verdict(piece, .init(badBlocks: [0], liars: [Self.address])))
    }
}
