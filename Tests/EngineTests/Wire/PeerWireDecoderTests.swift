import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

@Suite struct PeerWireDecoderTests {
    /// A connection's opening: handshake, then bitfield and a few messages, as a peer sends them.
    static let frames: [PeerWireFrame] =
        [.handshake(sampleHandshake)]
        + ([
            .extended(id: 0, payload: buffer(Array("d1:md11:ut_metadatai1eee".utf8))), .bitfield(buffer([0xF0])),
            .unchoke, .keepAlive, .piece(index: 1, begin: 0, block: block(100)), .have(3),
        ] as [PeerMessage]).map(PeerWireFrame.message)

    static let stream: [UInt8] = {
        var out = ByteBuffer()
        for frame in frames {
            switch frame {
            case .handshake(let handshake): out.writePeerHandshake(handshake)
            case .message(let message): out.writePeerMessage(message)
            }
        }
        return Array(out.readableBytesView)
    }()

    private func decode(_ chunks: [[UInt8]], maxFrameLength: Int = 1 << 20) throws -> [PeerWireFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PeerWireDecoder(maxFrameLength: maxFrameLength)))
        defer { _ = try? channel.finish() }
        var frames: [PeerWireFrame] = []
        for chunk in chunks {
            try channel.writeInbound(channel.allocator.buffer(bytes: chunk))
            while let frame = try channel.readInbound(as: PeerWireFrame.self) { frames.append(frame) }
        }
        return frames
    }

    @Test func decodesHandshakeThenMessagesInOneWrite() throws {
        #expect(try decode([Self.stream]) == Self.frames)
    }

    @Test func decodesDripFedStream() throws {
        #expect(try decode(Self.stream.map { [$0] }) == Self.frames)
    }

    @Test func decodesStreamSplitAtEveryOffset() throws {
        for cut in 0...Self.stream.count {
            let chunks = [Array(Self.stream[..<cut]), Array(Self.stream[cut...])]
            #expect(try decode(chunks) == Self.frames, "split at \(cut)")
        }
    }

    @Test func refusesMessagesBeforeTheHandshake() {
        #expect(throws: PeerWireError.invalidProtocolName(length: 0)) { try decode([hexBytes("00000001 01")]) }
    }

    @Test func errorOffsetsCountFromTheFirstByteOfTheConnection() throws {
        var decoder = PeerWireDecoder(maxFrameLength: 16)
        var input = buffer(sampleHandshakeBytes + hexBytes("00000000 00000011 07"))
        #expect(try decoder.decode(buffer: &input) == .handshake(sampleHandshake))
        #expect(decoder.hasDecodedHandshake)
        #expect(try decoder.decode(buffer: &input) == .message(.keepAlive))
        do {
            _ = try decoder.decode(buffer: &input)
            Issue.record("expected an error")
        } catch let error as PeerWireError {
            #expect(error == .frameTooLarge(length: 17, limit: 16))
            #expect(error.offset == 72)
        }
    }

    @Test func codecPipelinesTalkToEachOther() throws {
        let sender = EmbeddedChannel()
        let receiver = EmbeddedChannel()
        try sender.pipeline.syncOperations.addPeerWireCodec()
        try receiver.pipeline.syncOperations.addPeerWireCodec()
        for frame in Self.frames + [.message(.piece(index: 2, begin: 0, block: block(16 * 1024)))] {
            sender.write(frame, promise: nil)
        }
        sender.flush()
        while let bytes = try sender.readOutbound(as: ByteBuffer.self) { try receiver.writeInbound(bytes) }
        var received: [PeerWireFrame] = []
        while let frame = try receiver.readInbound(as: PeerWireFrame.self) { received.append(frame) }
        #expect(received == Self.frames + [.message(.piece(index: 2, begin: 0, block: block(16 * 1024)))])
        #expect(try sender.finish().isClean)
        #expect(try receiver.finish().isClean)
    }
}
