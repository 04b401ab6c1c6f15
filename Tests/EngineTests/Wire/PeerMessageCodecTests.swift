import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerMessageCodecTests {
    @Test(arguments: WireVector.all)
    func encodesToExactBytes(vector: WireVector) {
        var out = ByteBuffer()
        let written = out.writePeerMessage(vector.message)
        #expect(Array(out.readableBytesView) == vector.bytes)
        #expect(written == vector.bytes.count)
        #expect(vector.message.frameLength == vector.bytes.count - 4)
    }

    @Test(arguments: WireVector.all)
    func decodesExactBytesAndReencodesThem(vector: WireVector) throws {
        var input = buffer(vector.bytes)
        let message = try input.readPeerMessage(maxFrameLength: 64)
        #expect(message == vector.message)
        #expect(input.readableBytes == 0)
        var out = ByteBuffer()
        out.writePeerMessage(try #require(message))
        #expect(Array(out.readableBytesView) == vector.bytes)
    }

    @Test(arguments: WireVector.all)
    func needsEveryByteOfTheFrame(vector: WireVector) throws {
        for cut in 0..<vector.bytes.count {
            var input = buffer(Array(vector.bytes.prefix(cut)))
            #expect(try input.readPeerMessage(maxFrameLength: 64) == nil)
            #expect(input.readerIndex == 0)
        }
    }

    @Test func verifierDripFeedsAndCoalescesMessages() throws {
        let pairs = WireVector.all.map { (buffer($0.bytes), [$0.message]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            PeerMessageDecoder(maxFrameLength: 64)
        }
    }

    @Test func verifierHandlesAllMessagesInOneWrite() throws {
        let all = WireVector.all.flatMap(\.bytes)
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(buffer(all), WireVector.all.map(\.message))])
        {
            PeerMessageDecoder()
        }
    }

    @Test func largeBlockDecodesAsSliceOfTheInput() throws {
        let payload = block(16 * 1024, seed: 7)
        var frame = ByteBuffer()
        frame.writePeerMessage(.piece(index: 4, begin: 16 * 1024, block: payload))
        #expect(frame.readableBytes == 16 * 1024 + 13)
        var decoder = PeerMessageDecoder()
        let message = try decoder.decode(buffer: &frame)
        #expect(message == .piece(index: 4, begin: 16 * 1024, block: payload))
        #expect(decoder.streamOffset == 16 * 1024 + 13)
    }

    @Test func encoderWritesLargePayloadsWithoutCopying() throws {
        let channel = EmbeddedChannel(handler: PeerWireEncoder())
        let payload = block(16 * 1024, seed: 3)
        try channel.writeOutbound(PeerWireFrame.message(.piece(index: 1, begin: 0, block: payload)))
        let head = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let body = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(head.readableBytesView) == hexBytes("00004009 07 00000001 00000000"))
        #expect(body == payload)
        payload.withUnsafeReadableBytes { original in
            body.withUnsafeReadableBytes { written in #expect(original.baseAddress == written.baseAddress) }
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test(arguments: WireVector.all)
    func encoderWritesSmallMessagesInOneBuffer(vector: WireVector) throws {
        let channel = EmbeddedChannel(handler: PeerWireEncoder())
        try channel.writeOutbound(PeerWireFrame.message(vector.message))
        let out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(out.readableBytesView) == vector.bytes)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func idsAndDescriptions() {
        #expect(PeerMessage.keepAlive.id == nil)
        #expect(PeerMessage.extended(id: 1, payload: ByteBuffer()).id == 20)
        #expect(PeerMessage.unknown(id: 22, payload: ByteBuffer()).id == 22)
        #expect(
            PeerMessage.request(BlockRequest(piece: 7, begin: 16384, length: 16384)).description
                == "request(7:16384+16384)")
        #expect(PeerMessage.piece(index: 1, begin: 0, block: block(3)).description == "piece(1:0+3)")
    }
}
