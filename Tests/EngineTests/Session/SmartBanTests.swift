import Crypto
import Testing

@testable import Engine

/// Smart ban: the senders of a piece that failed are judged block by block once it passes.
@Suite(.timeLimit(.minutes(5)))
struct SmartBanTests {
    static let liar = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6001)
    static let honest = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6002)
    static let other = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6003)

    static func digest(_ byte: UInt8) -> [UInt8] { Array(Insecure.SHA1.hash(data: [byte])) }

    @Test func theSenderOfTheBlockThatDiffersIsTheLiar() {
        var ban = SmartBan()
        let piece = PieceIndex(7)
        // Blocks 0 and 2 from the liar, 1 and 3 from the honest peer; the liar's block 2 was bad.
        ban.pieceFailed(
            piece, senders: [0: Self.liar, 1: Self.honest, 2: Self.liar, 3: Self.honest],
            digests: [1, 2, 99, 4].map(Self.digest), share: 0.5)
        #expect(ban.isWatching(piece))
        let verdict = ban.piecePassed(piece, digests: [1, 2, 3, 4].map(Self.digest))
        #expect(verdict == SmartBan.Verdict(liars: [Self.liar], cleared: [Self.honest], share: 0.5))
        #expect(!ban.isWatching(piece))
        #expect(ban.piecePassed(piece, digests: []) == nil, "a verdict is given once")
    }

    @Test func aPieceOnePeerSentIsNotWatched() {
        var ban = SmartBan()
        ban.pieceFailed(PieceIndex(1), senders: [0: Self.liar, 1: Self.liar], digests: [[1], [2]], share: 1)
        #expect(!ban.isWatching(PieceIndex(1)))
    }

    @Test func aPieceThatFailsTwiceKeepsTheFirstRecordOfEachBlock() {
        var ban = SmartBan()
        let piece = PieceIndex(3)
        ban.pieceFailed(piece, senders: [0: Self.liar, 1: Self.honest], digests: [9, 2].map(Self.digest), share: 0.5)
        // Second attempt: block 0 from the honest peer (good), block 1 from another peer (good).
        ban.pieceFailed(piece, senders: [0: Self.honest, 1: Self.other], digests: [1, 2].map(Self.digest), share: 0.5)
        let verdict = ban.piecePassed(piece, digests: [1, 2].map(Self.digest))
        #expect(verdict?.liars == [Self.liar])
        #expect(verdict?.cleared == [Self.honest])
    }

    @Test func atMostSoManyPiecesAreWatched() {
        var ban = SmartBan()
        for index in 0...SmartBan.maxPieces {
            ban.pieceFailed(
                PieceIndex(index), senders: [0: Self.liar, 1: Self.honest], digests: [[1], [2]], share: 0.5)
        }
        #expect(!ban.isWatching(PieceIndex(0)), "the oldest is forgotten")
        #expect(ban.isWatching(PieceIndex(1)) && ban.isWatching(PieceIndex(SmartBan.maxPieces)))
    }

    @Test func digestsAreOfEachBlockAndTheShortLastOne() {
        let bytes = (0..<40_000).map { UInt8(truncatingIfNeeded: $0) }
        let digests = bytes.withUnsafeBytes { SmartBan.digests(of: $0, blockLength: 16_384) }
        #expect(digests.count == 3)
        #expect(digests[0] == Array(Insecure.SHA1.hash(data: bytes[0..<16_384])))
        #expect(digests[2] == Array(Insecure.SHA1.hash(data: bytes[32_768...])))
    }
}
