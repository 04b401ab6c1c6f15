import Testing

@testable import Engine

/// When small pieces wait for a batch, and what a batch takes.
@Suite struct PieceStoreBatchesTests {
    static let pieceLength = 16 << 10
    static let perBatch = PieceStoreBatches.batchBytes / pieceLength

    static func store(_ piece: Int) -> PieceStoreBatches.Store {
        (PieceIndex(piece), PieceBuffer(count: pieceLength), false)
    }

    @Test func onlyPiecesShorterThan256KiBAreBatched() {
        #expect(PieceStoreBatches.batches(16 << 10))
        #expect(PieceStoreBatches.batches((256 << 10) - 1))
        #expect(!PieceStoreBatches.batches(256 << 10))
        #expect(!PieceStoreBatches.batches(1 << 20))
    }

    /// Pieces wait until a batch's worth waits, then go together in piece order.
    @Test func piecesWaitForABatchsWorth() throws {
        var batches = PieceStoreBatches()
        let none = batches.next(flush: true)
        #expect(none == nil, "nothing waits")
        for piece in (0..<Self.perBatch - 1).reversed() { batches.add(Self.store(piece)) }
        let short = batches.next(flush: false)
        #expect(short == nil, "one piece short")
        batches.add(Self.store(Self.perBatch - 1))
        let taken1 = batches.next(flush: false)
        let batch = try #require(taken1)
        #expect(batch.map(\.piece) == (0..<Self.perBatch).map { PieceIndex($0) })
        #expect(batches.waiting.isEmpty && batches.waitingBytes == 0 && batches.running == 1)
    }

    /// A flush sends what waits when no batch runs; while one runs, the flush waits for it to end.
    @Test func aFlushWaitsForTheRunningBatch() throws {
        var batches = PieceStoreBatches()
        batches.add(Self.store(7))
        let taken2 = batches.next(flush: true)
        let first = try #require(taken2)
        #expect(first.map(\.piece) == [7])
        for piece in [12, 9, 10] { batches.add(Self.store(piece)) }
        let whileRunning = batches.next(flush: true)
        #expect(whileRunning == nil, "a batch runs and little waits")
        batches.ended()
        let unflushed = batches.next(flush: false)
        #expect(unflushed == nil, "no flush, little waits")
        let taken3 = batches.next(flush: true)
        let second = try #require(taken3)
        #expect(second.map(\.piece) == [9, 10, 12])
    }

    /// Once a stop drains the stores, every piece goes without a flush.
    @Test func drainingSendsEveryPiece() throws {
        var batches = PieceStoreBatches()
        batches.draining = true
        batches.add(Self.store(3))
        let taken4 = batches.next(flush: false)
        let batch = try #require(taken4)
        #expect(batch.map(\.piece) == [3])
    }

    /// With a batch's worth waiting a second batch starts beside the first, never a third; a batch takes
    /// at most ``PieceStoreBatches/maxBytes``.
    @Test func atMostTwoBatchesOfBoundedSize() throws {
        var batches = PieceStoreBatches()
        batches.add(Self.store(0))
        let taken5 = batches.next(flush: true)
        _ = try #require(taken5)
        let total = PieceStoreBatches.maxBytes / Self.pieceLength + Self.perBatch
        for piece in 1...total { batches.add(Self.store(piece)) }
        let taken6 = batches.next(flush: false)
        let second = try #require(taken6)
        #expect(second.count == PieceStoreBatches.maxBytes / Self.pieceLength)
        #expect(second.map(\.piece) == (1...second.count).map { PieceIndex($0) })
        #expect(batches.running == 2)
        let third = batches.next(flush: true)
        #expect(third == nil, "no third batch")
        batches.ended()
        let taken7 = batches.next(flush: false)
        let next = try #require(taken7)
        #expect(next.map(\.piece) == ((second.count + 1)...total).map { PieceIndex($0) })
    }
}
