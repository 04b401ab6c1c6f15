import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerWireDecoderTests {
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

    /// Feeds `chunks` as separate reads through the framer the pipeline uses.
    private func decode(_ chunks: [[UInt8]], maxFrameLength: Int = 1 << 20) throws -> [PeerWireFrame] {
        let channel = EmbeddedChannel(handler: PeerWireFramer(maxFrameLength: maxFrameLength))
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

    @Test func decodesLongStreamCutIntoRandomReads() throws {
        var random = SplitMix64(seed: 7)
        let frames: [PeerWireFrame] =
            [.handshake(sampleHandshake)]
            + (0..<40).map { index in
                let message: PeerMessage =
                    index % 5 == 4
                    ? .have(PieceIndex(index))
                    : .piece(index: PieceIndex(index), begin: 0, block: block(1 + Int(random.next() % 16_384)))
                return .message(message)
            }
        var out = ByteBuffer()
        for frame in frames {
            switch frame {
            case .handshake(let handshake): out.writePeerHandshake(handshake)
            case .message(let message): out.writePeerMessage(message)
            }
        }
        let stream = Array(out.readableBytesView)
        for _ in 0..<20 {
            var chunks: [[UInt8]] = []
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + 1 + Int(random.next() % 40_000))
                chunks.append(Array(stream[start..<end]))
                start = end
            }
            #expect(try decode(chunks) == frames, "cut into \(chunks.map(\.count))")
        }
    }

    @Test func framesInsideOneReadAreNotCopied() throws {
        let channel = EmbeddedChannel(handler: PeerWireFramer())
        defer { _ = try? channel.finish() }
        var read = ByteBuffer()
        read.writePeerHandshake(sampleHandshake)
        read.writePeerMessage(.piece(index: 0, begin: 0, block: block(16_384)))
        let readRange = read.withUnsafeReadableBytes {
            UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress! + $0.count)
        }
        try channel.writeInbound(read)
        #expect(try channel.readInbound(as: PeerWireFrame.self) == .handshake(sampleHandshake))
        guard case .message(.piece(_, _, let payload))? = try channel.readInbound(as: PeerWireFrame.self) else {
            Issue.record("expected a piece message")
            return
        }
        let start = payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(readRange.contains(start), "the block should be a slice of the read it came in")
    }

    @Test func refusesAnOversizedFrameAsSoonAsItsSplitPrefixIsWhole() throws {
        let channel = EmbeddedChannel(handler: PeerWireFramer(maxFrameLength: 16))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(buffer(sampleHandshakeBytes + hexBytes("00 00")))
        #expect(try channel.readInbound(as: PeerWireFrame.self) == .handshake(sampleHandshake))
        #expect(throws: PeerWireError.frameTooLarge(length: 17, limit: 16)) {
            try channel.writeInbound(buffer(hexBytes("00 11")))
        }
        // Nothing after the error is decoded, even a valid frame.
        try channel.writeInbound(buffer(hexBytes("00000001 01")))
        #expect(try channel.readInbound(as: PeerWireFrame.self) == nil)
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
