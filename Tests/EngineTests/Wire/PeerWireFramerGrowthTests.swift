import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// What a frame that straddles reads costs the framer: a long frame costs about what has arrived of
/// it, never its announced length up front; a block-sized one gets its whole buffer at once; all of it
/// counts against the memory budget until the frame is complete or the connection ends.
@Suite(.timeLimit(.minutes(5))) struct PeerWireFramerGrowthTests {
    static let maxFrame = 16 << 20

    /// A framer past the handshake, in a channel, with a budget.
    static func framer() throws -> (EmbeddedChannel, PeerWireFramer, PeerMemoryBudget) {
        let budget = PeerMemoryBudget()
        let framer = PeerWireFramer(maxFrameLength: maxFrame, budget: budget)
        let channel = EmbeddedChannel(handler: framer)
        var opening = ByteBuffer()
        opening.writePeerHandshake(sampleHandshake)
        try channel.writeInbound(opening)
        #expect(try channel.readInbound(as: PeerWireFrame.self) == .handshake(sampleHandshake))
        return (channel, framer, budget)
    }

    @Test func aLongFrameGrowsWithWhatArrivesAndCostsNothingOnceDone() throws {
        let (channel, framer, budget) = try Self.framer()
        defer { _ = try? channel.finish() }
        // An extended message announcing almost 16 MiB, then 100 bytes of it, then silence.
        let length = Self.maxFrame - 16
        var head = ByteBuffer()
        head.writeInteger(UInt32(length))
        head.writeInteger(PeerMessage.ID.extended)
        head.writeBytes([UInt8](repeating: 1, count: 100))
        try channel.writeInbound(head)
        #expect(try channel.readInbound(as: PeerWireFrame.self) == nil)
        #expect(framer.partialCapacity >= 105 && framer.partialCapacity <= 32 << 10, "\(framer.partialCapacity)")
        #expect(budget.usedBytes == framer.partialCapacity)

        // Then 1 MiB more in 64 KiB reads: the buffer stays within twice what arrived.
        var arrived = 105
        for _ in 0..<16 {
            try channel.writeInbound(ByteBuffer(repeating: 2, count: 64 << 10))
            arrived += 64 << 10
            #expect(framer.partialCapacity >= arrived && framer.partialCapacity <= 2 * arrived)
            #expect(budget.usedBytes == framer.partialCapacity)
        }

        // The rest: one whole frame comes out, and the budget is back to zero.
        var rest = length + 4 - arrived
        while rest > 0 {
            let chunk = min(rest, 1 << 20)
            try channel.writeInbound(ByteBuffer(repeating: 3, count: chunk))
            rest -= chunk
        }
        guard case .message(.extended(let id, let payload)) = try channel.readInbound(as: PeerWireFrame.self) else {
            Issue.record("no frame")
            return
        }
        #expect(id == 1 && payload.readableBytes == length - 2)
        #expect(framer.partialCapacity == 0 && budget.usedBytes == 0)
    }

    @Test func aBlockThatStraddlesReadsGetsItsWholeBufferAtOnce() throws {
        let (channel, framer, budget) = try Self.framer()
        defer { _ = try? channel.finish() }
        var frame = ByteBuffer()
        frame.writePeerMessage(.piece(index: PieceIndex(1), begin: 0, block: ByteBuffer(repeating: 9, count: 16_384)))
        let first = frame.readSlice(length: 1000)!
        try channel.writeInbound(first)
        // Its whole length at once (the allocator rounds up to a power of two).
        #expect(framer.partialCapacity >= 4 + 9 + 16_384 && framer.partialCapacity <= 32_768)
        #expect(budget.usedBytes == framer.partialCapacity)
        try channel.writeInbound(frame)
        guard case .message(.piece(_, _, let block)) = try channel.readInbound(as: PeerWireFrame.self) else {
            Issue.record("no block")
            return
        }
        #expect(block.readableBytes == 16_384 && budget.usedBytes == 0)
    }

    @Test func aClosedConnectionGivesItsPartialFrameBack() throws {
        let (channel, framer, budget) = try Self.framer()
        var head = ByteBuffer()
        head.writeInteger(UInt32(1 << 20))
        head.writeInteger(PeerMessage.ID.extended)
        head.writeBytes([UInt8](repeating: 1, count: 5000))
        try channel.writeInbound(head)
        #expect(budget.usedBytes == framer.partialCapacity && budget.usedBytes > 0)
        _ = try channel.finish()
        #expect(budget.usedBytes == 0)
    }

    @Test func aFrameOverTheLimitIsStillRefusedFromItsPrefix() throws {
        let (channel, _, budget) = try Self.framer()
        var head = ByteBuffer()
        head.writeInteger(UInt32(Self.maxFrame + 1))
        head.writeInteger(PeerMessage.ID.extended)
        #expect(throws: PeerWireError.self) { try channel.writeInbound(head) }
        #expect(budget.usedBytes == 0)
        _ = try? channel.finish()
    }

    @Test func startCapacityIsExactForShortFramesAndSmallForLongOnes() {
        #expect(PeerWireFramer.startCapacity(expected: 16_397, available: 100) == 16_397)
        #expect(PeerWireFramer.startCapacity(expected: 64 << 10, available: 10) == 64 << 10)
        #expect(PeerWireFramer.startCapacity(expected: 16 << 20, available: 100) == 16 << 10)
        #expect(PeerWireFramer.startCapacity(expected: 16 << 20, available: 40_000) == 40_000)
    }
}
