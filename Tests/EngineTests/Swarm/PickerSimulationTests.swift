import Testing

@testable import Engine

/// Whole downloads driven through the picker with simulated peers.
@Suite(.timeLimit(.minutes(5)))
struct PickerSimulationTests {
    /// The free blocks of the picker's pieces in progress, counted one by one.
    static func freeBlocks(of picker: PiecePicker) -> Int {
        picker.blocks.downloading.values.reduce(0) { $0 + $1.freeCount }
    }

    /// 100,000 one-block pieces, 16 peers with random halves of the torrent and one seed joining late:
    /// every piece is fetched once, without duplicates before endgame, and the picker ends complete.
    @Test func aLargeTorrentDownloadsCompletely() {
        let pieceCount = 100_000
        let peerCount = 16
        let layout = PieceLayout(
            pieceLength: PieceLayout.blockSize, totalLength: Int64(pieceCount * PieceLayout.blockSize))
        var picker = PiecePicker(layout: layout, random: SeededRandom(seed: 42))
        var random = SeededRandom(seed: 9)
        var bitfields: [[Bool]] = []
        for _ in 0..<peerCount {
            var bits: [Bool] = []
            bits.reserveCapacity(pieceCount + 64)
            while bits.count < pieceCount {
                let word = random.next()
                for bit in 0..<64 { bits.append(word >> bit & 1 == 1) }
            }
            bits.removeLast(bits.count - pieceCount)
            bitfields.append(bits)
            picker.addAvailability(bits.indices.filter { bits[$0] }.map { PieceIndex($0) })
        }
        var requestedOutsideEndgame: Set<Int> = []
        var freeBlocksCounted = true
        var duplicates = 0
        var rounds = 0
        while !picker.isComplete && rounds < 20_000 {
            rounds += 1
            if rounds == 200 { picker.addSeed() }
            for peer in 0..<(rounds >= 200 ? peerCount + 1 : peerCount) {
                let has: (PieceIndex) -> Bool =
                    peer == peerCount ? { _ in true } : { [bits = bitfields[peer]] in bits[$0.value] }
                let endgame = picker.isEndgame
                for request in picker.pickBlocks(for: PeerKey(peer), count: 8, peerHas: has) {
                    if !endgame && !requestedOutsideEndgame.insert(request.piece.value).inserted { duplicates += 1 }
                    if picker.blockReceived(request, from: PeerKey(peer)).isAccepted && picker.blockWritten(request) {
                        picker.pieceVerified(request.piece)
                    }
                }
            }
            if rounds % 97 == 0 {
                freeBlocksCounted = freeBlocksCounted && picker.blocks.freeBlocks == Self.freeBlocks(of: picker)
            }
        }
        #expect(freeBlocksCounted, "the count of free blocks kept in step with the pieces in progress")
        #expect(duplicates == 0)
        #expect(picker.isComplete)
        #expect(picker.haveCount == pieceCount)
        #expect(picker.piecesInProgress.isEmpty)
    }

    /// A corrupting peer's pieces fail, are named, and are fetched again from the honest peer.
    @Test func badDataIsRefetched() {
        var picker = PickerFixture.picker("22222222", seed: 5)
        var blamed: Set<PeerKey> = []
        var inStep = true
        var verified = 0
        var rounds = 0
        while !picker.isComplete && rounds < 100 {
            rounds += 1
            for peer: PeerKey in [1, 2] {
                let requests = picker.pickBlocks(for: peer, count: 6, peerHas: PickerFixture.seed)
                for request in requests where picker.blockReceived(request, from: peer).isAccepted {
                    guard picker.blockWritten(request) else { continue }
                    let sources = picker.blockStates(of: request.piece)!.compactMap(\.source)
                    if sources.contains(2) {
                        blamed.formUnion(picker.pieceFailed(request.piece))
                    } else {
                        picker.pieceVerified(request.piece)
                        verified += 1
                    }
                }
                if blamed.contains(2) { picker.peerDisconnected(2) }
                inStep = inStep && picker.blocks.freeBlocks == Self.freeBlocks(of: picker)
            }
        }
        #expect(inStep, "the count of free blocks kept in step with the pieces in progress")
        #expect(picker.isComplete && verified == 8)
        #expect(blamed.contains(2))
    }
}
