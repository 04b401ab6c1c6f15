import Testing

@testable import Engine

/// Rarest first keeps small pieces together: a piece started from the rarity index brings the rest of
/// its extent (``PiecePicker/extentBytes``), as rare as it, in piece order.
@Suite(.timeLimit(.minutes(5)))
struct PiecePickerExtentTests {
    typealias F = PickerFixture
    /// Pieces of the fixture's 64 KiB in an extent of 1 MiB.
    static let perExtent = (1 << 20) / F.pieceLength

    /// One piece per pick: the first is a random tie, the next ones the rest of its extent, ascending.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func picksFinishTheExtentOfTheFirstPiece(seed: UInt64) {
        var picker = F.picker(String(repeating: "1", count: 3 * Self.perExtent), seed: seed)
        #expect(picker.extentBytes == 1 << 20, "the default")
        var picks: [Int] = []
        for _ in 0..<Self.perExtent {
            picks += F.pieces(picker.pickBlocks(for: 1, count: 4, peerHas: F.seed))
        }
        let first = picks[0] / Self.perExtent * Self.perExtent
        #expect(Set(picks) == Set(first..<first + Self.perExtent))
        #expect(Array(picks.dropFirst()) == Array(picks.dropFirst()).sorted())
    }

    /// Neighbours that are rarer or more common are left to rarest first; the pieces a peer lacks are
    /// skipped; and with pieces as long as the extent nothing is queued.
    @Test func onlyEquallyRareNeighboursTheFirstPeerHasJoin() {
        var availability = Array(String(repeating: "1", count: Self.perExtent))
        availability[5] = "2"
        var picker = F.picker(String(availability))
        var lacks = Array(String(repeating: "1", count: Self.perExtent))
        lacks[9] = "0"
        let picked = F.pieces(picker.pickBlocks(for: 1, count: 4 * Self.perExtent, peerHas: F.peer(String(lacks))))
        #expect(!picked.contains(9), "the peer lacks it")
        #expect(picked.last == 5, "the more common piece comes after every rarer one")
        #expect(Set(picked) == Set(0..<Self.perExtent).subtracting([9]))
        #expect(Array(picked.dropFirst().dropLast()) == Array(picked.dropFirst().dropLast()).sorted())

        var alone = F.picker(String(repeating: "1", count: 2 * Self.perExtent), seed: 5)
        alone.extentBytes = F.pieceLength
        #expect(F.pieces(alone.pickBlocks(for: 1, count: 4, peerHas: F.seed)).count == 1)
        #expect(alone.extentRest.isEmpty, "nothing queued with pieces as long as the extent")
    }
}
