import NIOCore
import Testing

@testable import Engine

/// The send queue of one peer: what it counts against the process's budget, when it lets its reader
/// read on, and that everything it held is given back.
@Suite(.timeLimit(.minutes(5))) struct PeerOutboxTests {
    static let reject = PeerMessage.rejectRequest(BlockRequest(piece: PieceIndex(1), begin: 0, length: 16_384))

    @Test func countsEveryFrameUntilItIsWritten() async throws {
        let budget = PeerMemoryBudget()
        let outbox = PeerOutbox(budget: budget)
        let block = ByteBuffer(repeating: 7, count: 16_384)
        outbox.send(Self.reject)
        outbox.send([PeerMessage.have(PieceIndex(3)), .piece(index: PieceIndex(0), begin: 0, block: block)])
        let expected = (4 + 13 + 64) + (4 + 5 + 64) + (4 + 9 + 16_384 + 64)
        #expect(outbox.queuedBytes == expected)
        #expect(budget.usedBytes == expected)

        let batch = try #require(await outbox.next())
        #expect(batch.frames.count == 3 && batch.bytes == expected && batch.pieceBytes == 16_384)
        // Taken but not yet written: still counted.
        #expect(outbox.queuedBytes == expected && budget.usedBytes == expected)
        outbox.written(batch)
        #expect(outbox.queuedBytes == 0 && budget.usedBytes == 0)
    }

    @Test func finishingGivesEverythingBackAndIgnoresLaterFrames() async throws {
        let budget = PeerMemoryBudget()
        let outbox = PeerOutbox(budget: budget)
        for _ in 0..<1000 { outbox.send(Self.reject) }
        let batch = try #require(await outbox.next())
        for _ in 0..<500 { outbox.send(Self.reject) }
        #expect(budget.usedBytes == 1500 * 81)
        outbox.finish()
        #expect(budget.usedBytes == 0 && outbox.queuedBytes == 0)
        outbox.written(batch)  // the writer's last write returns after the end: not given back twice
        outbox.send(Self.reject)
        #expect(budget.usedBytes == 0)
        #expect(await outbox.next() == nil)
    }

    @Test func closingAfterSendingHandsOutWhatIsQueuedThenEnds() async throws {
        let budget = PeerMemoryBudget()
        let outbox = PeerOutbox(budget: budget)
        for _ in 0..<10 { outbox.send(Self.reject) }
        #expect(outbox.closeAfterSending())
        #expect(!outbox.closeAfterSending())
        #expect(outbox.isClosingAfterSending)
        outbox.send(Self.reject)  // refused: the peer is leaving
        #expect(budget.usedBytes == 10 * 81)
        let batch = try #require(await outbox.next())
        #expect(batch.frames.count == 10)
        outbox.written(batch)
        #expect(budget.usedBytes == 0)
        #expect(await outbox.next() == nil)
    }

    @Test func aWaitingWriterEndsWhenTheOutboxClosesEmpty() async throws {
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        let writer = Task { await outbox.next() }
        // The writer may not wait yet when the close comes: either way it gets `nil`.
        outbox.closeAfterSending()
        #expect(await writer.value == nil)
        outbox.finish()
        #expect(!outbox.isClosingAfterSending)
    }

    @Test func aDroppedOutboxGivesItsBytesBack() {
        let budget = PeerMemoryBudget()
        do {
            let outbox = PeerOutbox(budget: budget)
            for _ in 0..<100 { outbox.send(Self.reject) }
            #expect(budget.usedBytes == 100 * 81)
        }
        #expect(budget.usedBytes == 0)
    }

    @Test func theWriterWakesForNewFramesAndEndsWhenCancelled() async throws {
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        let writer = Task { await outbox.next()?.frames.count }
        outbox.send([Self.reject, Self.reject])
        #expect(await writer.value == 2)
        let idle = Task { await outbox.next() }
        idle.cancel()
        #expect(await idle.value == nil)
    }

    @Test func theReaderWaitsWhileThePeerIsOverItsLimitAndGoesOnOnceItDrains() async throws {
        let budget = PeerMemoryBudget(peerQueueLimit: 64 << 10, drainTimeout: .seconds(30))
        let outbox = PeerOutbox(budget: budget)
        try await outbox.waitForRoom()  // nothing queued: at once
        for _ in 0..<1000 { outbox.send(Self.reject) }  // 81,000 bytes > 65,536
        let batch = try #require(await outbox.next())
        let reader = Task { try await outbox.waitForRoom() }
        // The reader cannot be done while the batch is unwritten.
        #expect(!budget.allowsReading(queued: outbox.queuedBytes))
        outbox.written(batch)
        try await reader.value
        #expect(budget.usedBytes == 0)
    }

    @Test func aPeerThatDoesNotDrainInTimeIsDropped() async throws {
        let budget = PeerMemoryBudget(peerQueueLimit: 64 << 10, drainTimeout: .milliseconds(200))
        let outbox = PeerOutbox(budget: budget)
        for _ in 0..<1000 { outbox.send(Self.reject) }
        let started = ContinuousClock.now
        await #expect(throws: PeerDropped.self) { try await outbox.waitForRoom() }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func aWaitingReaderEndsWhenTheConnectionEnds() async throws {
        let budget = PeerMemoryBudget(peerQueueLimit: 64 << 10, drainTimeout: .seconds(60))
        let outbox = PeerOutbox(budget: budget)
        for _ in 0..<1000 { outbox.send(Self.reject) }
        let reader = Task { try await outbox.waitForRoom() }
        outbox.finish()
        try await reader.value
        let cancelled = PeerOutbox(budget: budget)
        for _ in 0..<1000 { cancelled.send(Self.reject) }
        let waiting = Task { try await cancelled.waitForRoom() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }

    /// Over the process limit, only the peers that hold more than the floor stop being read from.
    @Test func theProcessLimitPausesThePeersThatHoldTheMost() {
        let budget = PeerMemoryBudget(peerQueueLimit: 4 << 20, processLimit: 1 << 20)
        let big = PeerOutbox(budget: budget)
        let small = PeerOutbox(budget: budget)
        for _ in 0..<8000 { big.send(Self.reject) }  // 648,000 bytes: more than the floor of 512 KiB
        for _ in 0..<100 { small.send(Self.reject) }
        #expect(!budget.isOverProcessLimit)
        #expect(budget.allowsReading(queued: big.queuedBytes) && budget.allowsReading(queued: small.queuedBytes))
        let other = PeerOutbox(budget: budget)
        for _ in 0..<6000 { other.send(Self.reject) }
        #expect(budget.isOverProcessLimit)
        #expect(!budget.allowsReading(queued: big.queuedBytes))
        #expect(budget.allowsReading(queued: small.queuedBytes))
        other.finish()
        #expect(budget.allowsReading(queued: big.queuedBytes))
    }
}
