import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import Engine

/// Records every buffer written past it, flushed or not, and passes it on.
private final class WriteRecorder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var writes: [ByteBuffer] = []
    var flushes = 0
    /// The writes seen when the close came down.
    var writesAtClose: Int?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writes.append(unwrapOutboundIn(data))
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writesAtClose = writes.count
        context.close(mode: mode, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        flushes += 1
        context.flush()
    }
}

@Suite(.timeLimit(.minutes(5))) struct PeerWireEncoderTests {
    /// A channel with the encoder above a recorder of what it hands down.
    private func channel() throws -> (EmbeddedChannel, WriteRecorder) {
        let recorder = WriteRecorder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.pipeline.syncOperations.addHandler(PeerWireEncoder())
        return (channel, recorder)
    }

    private func requests(_ count: Int) -> [PeerMessage] {
        (0..<count).map { .request(BlockRequest(piece: 3, begin: UInt32($0) * 16384, length: 16384)) }
    }

    private func bytes(_ messages: [PeerMessage]) -> [UInt8] {
        var out = ByteBuffer()
        for message in messages { out.writePeerMessage(message) }
        return Array(out.readableBytesView)
    }

    @Test func framesBetweenFlushesGoDownAsOneBuffer() throws {
        let (channel, recorder) = try channel()
        let messages: [PeerMessage] =
            [.interested, .have(9)] + requests(32) + [.cancel(BlockRequest(piece: 1, begin: 0, length: 5))]
        for message in messages { channel.write(PeerWireFrame.message(message), promise: nil) }
        #expect(recorder.writes.isEmpty)
        channel.flush()
        #expect(recorder.writes.count == 1)
        #expect(recorder.flushes == 1)
        #expect(Array(recorder.writes[0].readableBytesView) == bytes(messages))
        let out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(out.readableBytesView) == bytes(messages))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func aLargePayloadFollowsThePendingBytesUncopied() throws {
        let (channel, recorder) = try channel()
        let payload = block(16 * 1024, seed: 5)
        let before: [PeerMessage] = [.unchoke, .have(2)]
        for message in before { channel.write(PeerWireFrame.message(message), promise: nil) }
        channel.write(PeerWireFrame.message(.piece(index: 1, begin: 0, block: payload)), promise: nil)
        channel.write(PeerWireFrame.message(.have(4)), promise: nil)
        channel.flush()
        #expect(recorder.writes.count == 3)
        #expect(
            Array(recorder.writes[0].readableBytesView)
                == bytes(before) + hexBytes("00004009 07 00000001 00000000"))
        #expect(recorder.writes[1] == payload)
        payload.withUnsafeReadableBytes { original in
            recorder.writes[1].withUnsafeReadableBytes { written in
                #expect(original.baseAddress == written.baseAddress)
            }
        }
        #expect(Array(recorder.writes[2].readableBytesView) == bytes([.have(4)]))
        #expect(try channel.finish().isClean == false)
    }

    @Test func smallPayloadsAreCopiedIntoThePendingBuffer() throws {
        let (channel, recorder) = try channel()
        let messages: [PeerMessage] = [
            .bitfield(block(100)), .extended(id: 1, payload: block(PeerWireEncoder.separateWriteThreshold - 1)),
            .have(1),
        ]
        for message in messages { channel.write(PeerWireFrame.message(message), promise: nil) }
        channel.flush()
        #expect(recorder.writes.count == 1)
        #expect(Array(recorder.writes[0].readableBytesView) == bytes(messages))
        _ = try channel.finish()
    }

    @Test func thePendingBufferIsBoundedWithoutAFlush() throws {
        let (channel, recorder) = try channel()
        let messages = requests(3000)
        for message in messages { channel.write(PeerWireFrame.message(message), promise: nil) }
        // 3,000 requests are 51,000 bytes: handed down in buffers of about the limit before any flush.
        #expect(recorder.writes.count == 3)
        #expect(recorder.flushes == 0)
        for write in recorder.writes {
            #expect(write.readableBytes >= PeerWireEncoder.coalescingLimit)
            #expect(write.readableBytes < PeerWireEncoder.coalescingLimit + 17)
        }
        channel.flush()
        #expect(recorder.writes.count == 4)
        #expect(recorder.writes.flatMap { Array($0.readableBytesView) } == bytes(messages))
        _ = try channel.finish()
    }

    @Test func promisesCompleteWhenTheirBytesAreWritten() throws {
        let (channel, _) = try channel()
        let first = channel.eventLoop.makePromise(of: Void.self)
        let second = channel.eventLoop.makePromise(of: Void.self)
        let third = channel.eventLoop.makePromise(of: Void.self)
        let done = Mutex<[Int]>([])
        first.futureResult.whenSuccess { done.withLock { $0.append(1) } }
        second.futureResult.whenSuccess { done.withLock { $0.append(2) } }
        third.futureResult.whenSuccess { done.withLock { $0.append(3) } }
        channel.write(PeerWireFrame.message(.have(1)), promise: first)
        channel.write(PeerWireFrame.message(.have(2)), promise: second)
        channel.write(PeerWireFrame.message(.piece(index: 0, begin: 0, block: block(2048))), promise: third)
        #expect(done.withLock { $0.isEmpty })
        channel.flush()
        #expect(done.withLock { $0.sorted() } == [1, 2, 3])
        _ = try channel.finish()
    }

    /// The socket fails unflushed writes at a close: frames still pending in the encoder must have
    /// reached it by then, or their promises would never complete.
    @Test func framesPendingAtCloseGoDownBeforeTheClose() throws {
        let (channel, recorder) = try channel()
        channel.write(PeerWireFrame.message(.have(7)), promise: nil)
        try channel.close().wait()
        #expect(recorder.writesAtClose == 1)
        #expect(recorder.writes.map { Array($0.readableBytesView) } == [bytes([.have(7)])])
    }

    @Test func handshakesJoinTheFramesAfterThem() throws {
        let (channel, recorder) = try channel()
        let handshake = PeerHandshake(
            infoHash: Array(repeating: 7, count: 20), peerId: Array(repeating: 9, count: 20))
        channel.write(PeerWireFrame.handshake(handshake), promise: nil)
        channel.write(PeerWireFrame.message(.interested), promise: nil)
        channel.flush()
        var expected = ByteBuffer()
        expected.writePeerHandshake(handshake)
        expected.writePeerMessage(.interested)
        #expect(recorder.writes == [expected])
        _ = try channel.finish()
    }
}
