import NIOCore
import Testing

@testable import Engine

/// Pieces gathered in memory within a limit, their buffers reused, the rest sent to disk block by block.
@Suite(.timeLimit(.minutes(5)))
struct PieceAssembliesTests {
    /// Three 32 KiB pieces (two blocks each) and a short last one of one block.
    let layout = PieceLayout(pieceLength: 32_768, totalLength: 3 * 32_768 + 100)

    func block(_ request: BlockRequest) -> ByteBuffer {
        ByteBuffer(bytes: (0..<Int(request.length)).map { UInt8(truncatingIfNeeded: $0 &+ Int(request.begin) / 7) })
    }

    /// Adds every block of `piece`; returns the buffer of the complete piece, if it was assembled.
    func fill(_ assemblies: inout PieceAssemblies, _ piece: Int) -> PieceBuffer? {
        var result: PieceBuffer?
        for request in layout.requests(in: PieceIndex(piece)) {
            if case .complete(let buffer) = assemblies.add(request, block: block(request), epoch: 0) { result = buffer }
        }
        return result
    }

    @Test func blocksGatherIntoTheWholePiece() throws {
        var assemblies = PieceAssemblies(layout: layout)
        let requests = layout.requests(in: PieceIndex(1))
        guard case .kept = assemblies.add(requests[1], block: block(requests[1]), epoch: 0) else {
            Issue.record("the first block should be kept")
            return
        }
        #expect(assemblies.bytes == 32_768 && assemblies.storesInFlight == 0)
        guard case .complete(let buffer) = assemblies.add(requests[0], block: block(requests[0]), epoch: 0) else {
            Issue.record("the last block should complete the piece")
            return
        }
        #expect(Array(buffer.readable) == requests.flatMap { Array(block($0).readableBytesView) })
        #expect(assemblies.byPiece.isEmpty && assemblies.storesInFlight == 1)
        // Its bytes count until the store ends.
        #expect(assemblies.bytes == 32_768)
        assemblies.stored(buffer, keepSpare: true)
        #expect(assemblies.bytes == 0 && assemblies.storesInFlight == 0)
    }

    @Test func beyondTheLimitBlocksGoToDiskUntilThePieceIsChecked() {
        // Room for one piece in memory.
        var assemblies = PieceAssemblies(layout: layout, limit: 40_000)
        let first = layout.requests(in: PieceIndex(0))
        let second = layout.requests(in: PieceIndex(1))
        guard case .kept = assemblies.add(first[0], block: block(first[0]), epoch: 0),
            case .writeDirect = assemblies.add(second[0], block: block(second[0]), epoch: 0)
        else {
            Issue.record("the second piece should go to disk")
            return
        }
        // Once the first piece is stored there is room again, but the second stays direct: some of its
        // blocks are in the files already.
        guard case .complete(let buffer) = assemblies.add(first[1], block: block(first[1]), epoch: 0) else {
            Issue.record("the first piece should be complete")
            return
        }
        assemblies.stored(buffer, keepSpare: true)
        guard case .writeDirect = assemblies.add(second[1], block: block(second[1]), epoch: 0) else {
            Issue.record("a direct piece should stay direct")
            return
        }
        #expect(assemblies.direct == [PieceIndex(1)])
        assemblies.pieceChecked(PieceIndex(1))
        guard case .kept = assemblies.add(second[0], block: block(second[0]), epoch: 0) else {
            Issue.record("a checked piece may use memory again")
            return
        }
        // A block that is not one of its piece's is ignored.
        let wrong = BlockRequest(piece: PieceIndex(1), begin: 5, length: 16_384)
        guard case .ignored = assemblies.add(wrong, block: block(wrong), epoch: 0) else {
            Issue.record("a misaligned block should be ignored")
            return
        }
    }

    @Test func storedBuffersAreReusedWhilePiecesRemain() throws {
        var assemblies = PieceAssemblies(layout: layout)
        let first = try #require(fill(&assemblies, 0))
        assemblies.stored(first, keepSpare: true)
        #expect(assemblies.spares.count == 1)
        let second = try #require(fill(&assemblies, 1))
        #expect(second === first, "the spare buffer is reused")
        #expect(assemblies.spares.isEmpty)
        // The short last piece gets a buffer of its own, and it is not kept.
        let last = try #require(fill(&assemblies, 3))
        #expect(last.count == 100)
        assemblies.stored(last, keepSpare: true)
        #expect(assemblies.spares.isEmpty)
        // Once every piece is here nothing is kept.
        assemblies.stored(second, keepSpare: false)
        #expect(assemblies.spares.isEmpty && assemblies.bytes == 0)
    }

    @Test func anAssemblyTakenOutAndPutBackKeepsItsBlocks() {
        var assemblies = PieceAssemblies(layout: layout)
        let requests = layout.requests(in: PieceIndex(2))
        _ = assemblies.add(requests[0], block: block(requests[0]), epoch: 3)
        guard let taken = assemblies.take(PieceIndex(2)) else {
            Issue.record("no assembly")
            return
        }
        #expect(assemblies.byPiece.isEmpty)
        assemblies.putBack(taken, for: PieceIndex(2))
        guard case .complete = assemblies.add(requests[1], block: block(requests[1]), epoch: 3) else {
            Issue.record("the put-back assembly should complete")
            return
        }
    }

    @Test func blocksFlushedLeaveThePlanAndAPlanOutlivesNoAssembly() {
        var assemblies = PieceAssemblies(layout: layout)
        let piece = PieceIndex(0)
        let requests = layout.requests(in: piece)
        _ = assemblies.add(requests[0], block: block(requests[0]), epoch: 1)
        // A block of the current interval waits for the next one; a piece without assembly has no plan.
        #expect(assemblies.flushPlan(piece, before: 1)?.runs.isEmpty == true)
        #expect(assemblies.flushPlan(PieceIndex(1), before: 9) == nil)
        guard let plan = assemblies.flushPlan(piece, before: 2) else {
            Issue.record("no plan for an assembly")
            return
        }
        #expect(plan.runs.map { $0.first } == [0] && plan.runs.map { $0.count } == [1])
        #expect(plan.runs.first?.bytes == Array(block(requests[0]).readableBytesView))
        let flushed = assemblies.flushed(piece, generation: plan.generation, first: 0, count: 1)
        #expect(flushed && assemblies.flushPlan(piece, before: 2)?.runs.isEmpty == true)

        // Completed meanwhile and gone to be stored whole: the rest of the plan is void.
        guard case .complete(let buffer) = assemblies.add(requests[1], block: block(requests[1]), epoch: 2) else {
            Issue.record("the second block should complete the piece")
            return
        }
        let afterCompletion = assemblies.flushed(piece, generation: plan.generation, first: 1, count: 1)
        #expect(!afterCompletion)
        assemblies.stored(buffer, keepSpare: true)
        // Started again (after a failed hash): an older plan does not vouch for the new assembly's blocks.
        _ = assemblies.add(requests[0], block: block(requests[0]), epoch: 3)
        let olderPlan = assemblies.flushed(piece, generation: plan.generation, first: 0, count: 1)
        #expect(!olderPlan && assemblies.flushPlan(piece, before: 4)?.runs.count == 1)
    }
}
