import Testing

@testable import Engine

/// Blocks arriving, failing and being written; peers leaving; hash failures; endgame.
@Suite(.timeLimit(.minutes(5)))
struct PiecePickerLifecycleTests {
    typealias F = PickerFixture

    @Test func blocksGoFromRequestedToWrittenToVerified() {
        var picker = F.picker("11")
        let requests = picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)
        let piece = requests[0].piece
        #expect(F.states(picker, piece) == "rrrr")
        for (index, request) in requests.enumerated() {
            #expect(picker.blockReceived(request, from: 1) == BlockArrival(isAccepted: true))
            #expect(picker.blockWritten(request) == (index == 3))
        }
        #expect(F.states(picker, piece) == "wwww")
        #expect(picker.outstandingRequests(of: 1).isEmpty)
        picker.pieceVerified(piece)
        #expect(picker.has(piece) && picker.haveCount == 1 && !picker.isComplete)
        #expect(picker.blockStates(of: piece) == nil)
        // The other piece, including a failed write that is fetched again.
        let rest = picker.pickBlocks(for: 1, count: 10, peerHas: F.seed)
        #expect(rest.count == 4 && rest[0].piece != piece)
        for request in rest { _ = picker.blockReceived(request, from: 1) }
        picker.blockWriteFailed(rest[2])
        #expect(F.states(picker, rest[0].piece) == "vv.v")
        #expect(picker.pickBlocks(for: 2, count: 10, peerHas: F.seed) == [rest[2]])
        _ = picker.blockReceived(rest[2], from: 2)
        for request in rest { _ = picker.blockWritten(request) }
        picker.pieceVerified(rest[0].piece)
        #expect(picker.isComplete)
        #expect(picker.pickBlocks(for: 1, count: 10, peerHas: F.seed).isEmpty)
    }

    @Test func duplicateAndUnwantedBlocksAreRefused() {
        var picker = F.picker("111", "x  ", "440")
        let request = picker.pickBlocks(for: 1, count: 1, peerHas: F.seed)[0]
        #expect(picker.blockReceived(request, from: 1).isAccepted)
        #expect(!picker.blockReceived(request, from: 1).isAccepted)
        #expect(!picker.blockReceived(BlockRequest(piece: 0, begin: 0, length: 16_384), from: 1).isAccepted)
        #expect(!picker.blockReceived(BlockRequest(piece: 2, begin: 0, length: 16_384), from: 1).isAccepted)
        #expect(!picker.blockReceived(BlockRequest(piece: 1, begin: 1, length: 16_384), from: 1).isAccepted)
        #expect(!picker.blockReceived(BlockRequest(piece: 9, begin: 0, length: 16_384), from: 1).isAccepted)
        // An unrequested block of a wanted piece is kept.
        #expect(picker.blockReceived(BlockRequest(piece: 1, begin: 49_152, length: 16_384), from: 2).isAccepted)
        #expect(F.states(picker, 1) == "v..v")
    }

    @Test func aDisconnectedPeersBlocksReturnToThePool() {
        var picker = F.picker("1111")
        let requests = picker.pickBlocks(for: 1, count: 6, peerHas: F.seed)
        #expect(picker.outstandingRequests(of: 1) == Set(requests))
        let released = picker.peerDisconnected(1)
        #expect(Set(released) == Set(requests))
        #expect(released == released.sorted { ($0.piece, $0.begin) < ($1.piece, $1.begin) })
        #expect(picker.outstandingRequests(of: 1).isEmpty)
        for piece in picker.piecesInProgress { #expect(F.states(picker, piece) == "....") }
        // The next peer resumes the oldest started piece.
        let again = picker.pickBlocks(for: 2, count: 4, peerHas: F.seed)
        #expect(F.pieces(again) == [requests[0].piece.value])
    }

    @Test func aFailedRequestFreesOnlyThatBlock() {
        var picker = F.picker("1")
        let requests = picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)
        picker.requestFailed(requests[1], peer: 1)
        #expect(F.states(picker, 0) == "r.rr")
        #expect(picker.pickBlocks(for: 2, count: 1, peerHas: F.seed) == [requests[1]])
        #expect(picker.outstandingRequests(of: 1).count == 3)
        #expect(picker.outstandingRequests(of: 2) == [requests[1]])
    }

    @Test func aPieceFailingItsHashIsFetchedAgainAndItsSendersNamed() {
        var picker = F.picker("11")
        let requests = picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)
        let piece = requests[0].piece
        for (index, request) in requests.enumerated() {
            _ = picker.blockReceived(request, from: index == 2 ? 7 : 1)
            _ = picker.blockWritten(request)
        }
        #expect(picker.pieceFailed(piece) == [1, 7])
        #expect(F.states(picker, piece) == "....")
        #expect(!picker.has(piece))
        #expect(F.pieces(picker.pickBlocks(for: 2, count: 4, peerHas: F.seed)) == [piece.value])
    }

    @Test func restoredCompletePieceIsReportedForHashing() {
        var picker = F.picker("11")
        let first = picker.restoreWrittenBlocks([0, 1], in: 1)
        let second = picker.restoreWrittenBlocks([2, 3], in: 1)
        #expect(!first && second)
        #expect(F.states(picker, 1) == "wwww")
    }

    @Test func endgameDuplicatesRequestsAndCancelsTheRest() {
        var picker = F.picker("12")
        picker.endgameMaxRequesters = 3
        let first = picker.pickBlocks(for: 1, count: 4, peerHas: F.seed)
        #expect(F.pieces(first) == [0])
        #expect(!picker.isEndgame)
        // Peer 2 gets the other piece, not duplicates.
        #expect(F.pieces(picker.pickBlocks(for: 2, count: 4, peerHas: F.seed)) == [1])
        #expect(picker.isEndgame)
        // Nothing left for peer 1 but blocks requested from peer 2, and the reverse.
        #expect(F.render(picker.pickBlocks(for: 1, count: 2, peerHas: F.seed)) == "1.0 1.1")
        #expect(F.states(picker, 1) == "22rr")
        #expect(F.render(picker.pickBlocks(for: 3, count: 3, peerHas: F.peer("10"))) == "0.0 0.1 0.2")
        #expect(F.render(picker.pickBlocks(for: 4, count: 10, peerHas: F.seed)) == "0.3 1.2 1.3 0.0 0.1 0.2 1.0 1.1")
        #expect(F.states(picker, 0) == "3332" && F.states(picker, 1) == "3322")
        // At most three requesters per block.
        #expect(picker.pickBlocks(for: 5, count: 10, peerHas: F.peer("10")) == [first[3]])
        #expect(picker.pickBlocks(for: 6, count: 10, peerHas: F.peer("10")).isEmpty)

        // Block 0.0 arrives from peer 3: peers 1 and 4 are told to cancel.
        let arrival = picker.blockReceived(first[0], from: 3)
        #expect(arrival.isAccepted)
        #expect(
            arrival.cancels == [
                PeerBlockRequest(peer: 1, request: first[0]), PeerBlockRequest(peer: 4, request: first[0]),
            ])
        #expect(!picker.outstandingRequests(of: 1).contains(first[0]))
        #expect(!picker.outstandingRequests(of: 4).contains(first[0]))
        // Peer 1's copy arrives anyway (sent before the cancel): dropped.
        #expect(picker.blockReceived(first[0], from: 1) == BlockArrival(isAccepted: false))
        // A disconnect in endgame leaves the other requesters in place.
        picker.peerDisconnected(4)
        #expect(F.states(picker, 0) == "v222" && F.states(picker, 1) == "22rr")
    }

    @Test func noEndgameWhileUnstartedPiecesRemainElsewhere() {
        // The peer only has piece 0, fully requested; piece 1 is unstarted: no duplicates.
        var picker = F.picker("11")
        _ = picker.pickBlocks(for: 1, count: 4, peerHas: F.peer("10"))
        #expect(picker.pickBlocks(for: 2, count: 4, peerHas: F.peer("10")).isEmpty)
        #expect(!picker.isEndgame)
    }
}
