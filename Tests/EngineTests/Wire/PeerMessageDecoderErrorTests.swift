import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerMessageDecoderErrorTests {
    /// Every (id, length) that must be refused, with the header alone and with the full payload.
    static let malformed: [(id: UInt8, length: UInt32)] = {
        let fixed: [(ids: [UInt8], valid: UInt32)] = [
            ([0, 1, 2, 3, 14, 15], 1), ([4, 13, 17], 5), ([6, 8, 16], 13), ([9], 3),
        ]
        var cases: [(UInt8, UInt32)] = []
        for (ids, valid) in fixed {
            for id in ids {
                for length: UInt32 in [1, 2, 3, 4, 5, 6, 9, 12, 13, 14, 17, 100] where length != valid {
                    cases.append((id, length))
                }
            }
        }
        cases += [(5, 1), (20, 1)]
        cases += (1...8).map { (7, $0) }
        return cases
    }()

    @Test(arguments: malformed)
    func refusesLengthThatDoesNotFitTheID(id: UInt8, length: UInt32) {
        var header = ByteBuffer()
        header.writeInteger(length)
        header.writeInteger(id)
        var full = header
        full.writeRepeatingByte(0, count: Int(length) - 1)
        for var input in [header, full] {
            #expect(throws: PeerWireError.invalidLength(messageID: id, length: length)) {
                try input.readPeerMessage(maxFrameLength: 1024)
            }
            #expect(input.readerIndex == 0)
        }
    }

    @Test(arguments: [0xFFFF_FFFF, 0x8000_0000, (1 << 20) + 1, 16 * 1024 + 10] as [UInt32])
    func refusesOversizedFrameFromItsPrefixAlone(length: UInt32) throws {
        let limit = 16 * 1024 + 9
        var prefix = ByteBuffer()
        prefix.writeInteger(length)
        #expect(throws: PeerWireError.frameTooLarge(length: length, limit: limit)) {
            try prefix.readPeerMessage(maxFrameLength: limit)
        }
        #expect(prefix.readerIndex == 0)
    }

    @Test func oversizedFrameFailsThePipelineWithoutBuffering() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PeerMessageDecoder()))
        var input = channel.allocator.buffer(capacity: 5)
        input.writeInteger(UInt32(0xFFFF_FFF0))
        input.writeInteger(PeerMessage.ID.piece)
        #expect(throws: PeerWireError.frameTooLarge(length: 0xFFFF_FFF0, limit: 1 << 20)) {
            try channel.writeInbound(input)
        }
        _ = try? channel.finish()
    }

    @Test func limitIsInclusive() throws {
        var atLimit = ByteBuffer()
        atLimit.writeInteger(UInt32(100))
        atLimit.writeInteger(PeerMessage.ID.piece)
        #expect(try atLimit.readPeerMessage(maxFrameLength: 100) == nil)
        #expect(throws: PeerWireError.frameTooLarge(length: 100, limit: 99)) {
            try atLimit.readPeerMessage(maxFrameLength: 99)
        }
    }

    @Test func frameLimitForLargeTorrents() {
        #expect(PeerMessageDecoder.maxFrameLength(pieceCount: 100) == 1 << 20)
        #expect(PeerMessageDecoder.maxFrameLength(pieceCount: 10_000_000) == 1_250_001)
    }

    @Test func errorsReportTheStreamOffsetOfTheFrame() throws {
        var decoder = PeerMessageDecoder(maxFrameLength: 64)
        var input = buffer(hexBytes("00000001 00  00000000  00000002 04 00"))
        #expect(try decoder.decode(buffer: &input) == .choke)
        #expect(try decoder.decode(buffer: &input) == .keepAlive)
        do {
            _ = try decoder.decode(buffer: &input)
            Issue.record("expected an error")
        } catch let error as PeerWireError {
            #expect(error == .invalidLength(messageID: 4, length: 2))
            #expect(error.offset == 9)
            #expect(error.messageID == 4)
            #expect(error.announcedLength == 2)
            #expect(error.description == "message id 4 with invalid length 2 at byte 9")
        }
        #expect(input.readableBytes == 6)
    }

    @Test func decodeLastLeavesAnIncompleteFrame() throws {
        var decoder = PeerMessageDecoder()
        var input = buffer(hexBytes("00000005 04 0000"))
        #expect(try decoder.decodeLast(buffer: &input, seenEOF: true) == nil)
        #expect(input.readableBytes == 7)
    }
}
