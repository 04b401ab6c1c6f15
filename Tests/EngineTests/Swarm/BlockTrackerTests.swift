import Testing

@testable import Engine

/// ``BlockTracker`` on its own: the blocks of pieces in progress and the requests each peer owes,
/// for pieces of 4 blocks.
@Suite(.timeLimit(.minutes(5)))
struct BlockTrackerTests {
    typealias F = PickerFixture
    static let layout = PieceLayout(pieceLength: F.pieceLength, totalLength: 3 * Int64(F.pieceLength))

    static func request(_ piece: Int, _ block: Int) -> BlockRequest {
        layout.request(piece: PieceIndex(piece), block: BlockIndex(block))
    }

    /// Whether the tracker's count of free blocks is that of its pieces in progress, counted one by one.
    static func freeBlocksInStep(_ tracker: BlockTracker) -> Bool {
        tracker.freeBlocks == tracker.downloading.values.reduce(0) { $0 + $1.freeCount }
    }

    /// A tracker with `pieces` started, in that order.
    static func tracker(started pieces: [Int]) -> BlockTracker {
        var tracker = BlockTracker(layout: layout)
        for piece in pieces { tracker.start(piece) }
        return tracker
    }

    @Test func freeBlocksAreRequestedInOrderAndReceivedOnce() {
        var tracker = Self.tracker(started: [2, 0])
        #expect(tracker.startOrder == [2, 0])
        var picked: [BlockRequest] = []
        tracker.takeFreeBlocks(of: 0, for: 1, into: &picked, limit: 2)
        tracker.takeFreeBlocks(of: 0, for: 2, into: &picked, limit: 3)
        #expect(F.render(picked) == "0.0 0.1 0.2")
        #expect(tracker.freeCount(of: 0) == 1)
        #expect(tracker.outstanding[1] == [Self.request(0, 0), Self.request(0, 1)])

        tracker.dropOutstanding(Self.request(0, 0), of: 1)
        #expect(tracker.receive(Self.request(0, 0), block: BlockIndex(0), from: 1) == BlockArrival(isAccepted: true))
        #expect(tracker.outstanding[1] == [Self.request(0, 1)])
        // The same block again (from anyone) is a duplicate.
        #expect(tracker.receive(Self.request(0, 0), block: BlockIndex(0), from: 2) == BlockArrival(isAccepted: false))
        // An unrequested free block of a piece in progress is kept.
        #expect(tracker.receive(Self.request(0, 3), block: BlockIndex(3), from: 3) == BlockArrival(isAccepted: true))
        #expect(
            tracker.downloading[0]!.blocks == [
                .received(from: 1), .requested(by: [1]), .requested(by: [2]),
                .received(from: 3),
            ])
        #expect(Self.freeBlocksInStep(tracker) && tracker.freeBlocks == 4, "piece 2's four")
    }

    @Test func endgameDuplicatesAreCancelledOnArrival() {
        var tracker = Self.tracker(started: [0, 1])
        var picked: [BlockRequest] = []
        tracker.takeFreeBlocks(of: 0, for: 1, into: &picked, limit: 4)
        picked = []
        tracker.takeRequestedBlocks(for: 2, into: &picked, limit: 8, maxRequesters: 2, isEligible: { $0 == 0 })
        #expect(F.render(picked) == "0.0 0.1 0.2 0.3")
        // At most 2 requesters per block: a third peer gets none.
        picked = []
        tracker.takeRequestedBlocks(for: 3, into: &picked, limit: 8, maxRequesters: 2, isEligible: { _ in true })
        #expect(picked.isEmpty)

        tracker.dropOutstanding(Self.request(0, 1), of: 2)
        let arrival = tracker.receive(Self.request(0, 1), block: BlockIndex(1), from: 2)
        #expect(arrival.isAccepted)
        #expect(arrival.cancels == [PeerBlockRequest(peer: 1, request: Self.request(0, 1))])
        #expect(tracker.outstanding[1]?.contains(Self.request(0, 1)) == false)
        // One requester fails; the other still has the block requested.
        tracker.requestFailed(Self.request(0, 2), peer: 1)
        #expect(tracker.downloading[0]!.blocks[2] == .requested(by: [2]))
        // Verified: the requests still outstanding are returned to cancel, and the piece is forgotten.
        let cancels = tracker.finish(0)
        #expect(cancels.map(\.peer) == [1, 2, 2, 1, 2])
        #expect(cancels.map { F.render([$0.request]) } == ["0.0", "0.0", "0.2", "0.3", "0.3"])
        #expect(tracker.startOrder == [1])
        #expect(!tracker.isStarted(0))
        #expect(tracker.outstanding.isEmpty)
        #expect(Self.freeBlocksInStep(tracker) && tracker.freeBlocks == 4)
    }

    @Test func writesCompleteAPieceAndFailuresFreeBlocks() {
        var tracker = Self.tracker(started: [1])
        let restoredComplete = tracker.restoreWritten([BlockIndex(0), BlockIndex(1), BlockIndex(2)], in: 1)
        #expect(!restoredComplete)
        #expect(tracker.writtenBlocks(in: PieceIndex(1)) == [BlockIndex(0), BlockIndex(1), BlockIndex(2)])
        // Only a received block can be written.
        let writtenUnreceived = tracker.written(Self.request(1, 3))
        #expect(!writtenUnreceived)
        _ = tracker.receive(Self.request(1, 3), block: BlockIndex(3), from: 5)
        tracker.writeFailed(Self.request(1, 3))
        #expect(tracker.downloading[1]!.blocks[3] == .none)
        _ = tracker.receive(Self.request(1, 3), block: BlockIndex(3), from: 5)
        let completes = tracker.written(Self.request(1, 3))
        #expect(completes)
        #expect(tracker.downloading[1]!.isComplete)
        #expect(Self.freeBlocksInStep(tracker) && tracker.freeBlocks == 0)
    }

    @Test func aFailedPieceStartsOverAndNamesItsSources() {
        var tracker = Self.tracker(started: [0])
        var picked: [BlockRequest] = []
        tracker.takeFreeBlocks(of: 0, for: 7, into: &picked, limit: 4)
        // Block 0 came from another peer than the one asked.
        let arrivals: [(block: Int, peer: PeerKey)] = [(0, 9), (1, 7)]
        for (block, peer) in arrivals {
            tracker.dropOutstanding(Self.request(0, block), of: peer)
            _ = tracker.receive(Self.request(0, block), block: BlockIndex(block), from: peer)
            _ = tracker.written(Self.request(0, block))
        }
        #expect(tracker.pieceFailed(PieceIndex(0)) == [7, 9])
        #expect(tracker.freeCount(of: 0) == 4)
        #expect(tracker.startOrder == [0])
        #expect(tracker.outstanding.isEmpty)
        #expect(Self.freeBlocksInStep(tracker) && tracker.freeBlocks == 4)
    }

    @Test func aPeerThatLeavesGivesBackItsBlocks() {
        var tracker = Self.tracker(started: [1, 0])
        var picked: [BlockRequest] = []
        tracker.takeFreeBlocks(of: 1, for: 4, into: &picked, limit: 2)
        tracker.takeFreeBlocks(of: 0, for: 4, into: &picked, limit: 3)
        tracker.takeRequestedBlocks(for: 5, into: &picked, limit: 4, maxRequesters: 3, isEligible: { _ in true })
        // In piece and offset order.
        #expect(F.render(tracker.peerDisconnected(4)) == "0.0 1.0 1.1")
        #expect(tracker.outstanding[4] == nil)
        #expect(tracker.downloading[1]!.blocks[0] == .requested(by: [5]))
        #expect(tracker.downloading[1]!.blocks[1] == .none)
        #expect(tracker.downloading[0]!.blocks[0] == .none)
        #expect(Self.freeBlocksInStep(tracker))
    }
}
