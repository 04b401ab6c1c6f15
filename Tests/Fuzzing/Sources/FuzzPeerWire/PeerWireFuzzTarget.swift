import Engine
import FuzzSupport
import NIOCore
import NIOEmbedded

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    PeerWireFuzzTarget.run(FuzzInput(data, size))
    return 0
}

/// Fuzzes the inbound peer wire codec on a byte stream cut into reads of fuzzer-chosen sizes.
///
/// Input layout: one byte choosing the frame limit, four bytes of read sizes (used in turn), then the
/// stream as a peer would send it (a handshake, then messages). Three decodings of the stream must
/// agree: ``PeerWireFramer`` in a channel fed read by read, ``PeerWireDecoder`` over the whole stream,
/// and ``PeerMessageDecoder`` after the handshake. Every frame decoded must encode (with
/// ``PeerWireEncoder``) back to exactly the bytes it was read from. ``PeerHandshakeDecoder`` and
/// ``PeerMessageDecoder`` also run alone on the raw stream.
@main
enum PeerWireFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    /// A decoding: the frames in order, how many bytes they took, and whether it ended on an error.
    struct Decoding: Equatable {
        var frames: [PeerWireFrame] = []
        var consumed = 0
        var failed = false
    }

    static func run(_ input: FuzzInput) {
        var input = input
        let limits = [PeerMessageDecoder.defaultMaxFrameLength, 1, 5, 13, 17, 64, 16 * 1024 + 13]
        let maxFrameLength = limits[Int(input.byte()) % limits.count]
        let sizes = (0..<4).map { _ in Int(input.byte()) + 1 }
        let stream = input.rest()
        // Reads as small as one byte, but no more than about 64 of them: a channel read costs far more
        // than the decoding of a byte, and long drip-fed streams would make the target crawl.
        let readSizes = sizes.map { max($0, stream.count / 64) }

        let whole = decodeWhole(stream, maxFrameLength: maxFrameLength)
        let framed = decodeFramed(stream, maxFrameLength: maxFrameLength, readSizes: readSizes)
        FuzzCheck.require(framed.frames == whole.frames, "the framer and the decoder pass on the same frames")
        FuzzCheck.require(framed.failed == whole.failed, "the framer and the decoder fail alike")
        let encoded = encode(whole.frames)
        FuzzCheck.require(encoded[...] == stream.prefix(whole.consumed), "decoded frames encode back to their bytes")

        // The message decoder alone, on the stream after the handshake when there was one, else on all of it.
        let messageStart = whole.frames.isEmpty ? 0 : PeerHandshake.encodedLength
        if messageStart <= stream.count {
            let messages = decodeMessages(stream[messageStart...], maxFrameLength: maxFrameLength)
            if messageStart > 0 {
                FuzzCheck.require(
                    messages.frames == Array(whole.frames.dropFirst()) && messages.failed == whole.failed,
                    "the message decoder agrees with the wire decoder after the handshake")
            }
            let consumed = encode(messages.frames)
            FuzzCheck.require(
                consumed[...] == stream[messageStart...].prefix(messages.consumed),
                "messages encode back to their bytes")
        }
        var buffer = ByteBuffer(bytes: stream)
        var handshakes = PeerHandshakeDecoder()
        if let handshake = try? handshakes.decode(buffer: &buffer) {
            FuzzCheck.require(handshake.infoHash.count == 20 && handshake.peerId.count == 20, "20-byte hash and id")
            FuzzCheck.require(handshakes.streamOffset == PeerHandshake.encodedLength, "a handshake is 68 bytes")
        }
    }

    static func decodeWhole(_ stream: [UInt8], maxFrameLength: Int) -> Decoding {
        var decoder = PeerWireDecoder(maxFrameLength: maxFrameLength)
        var buffer = ByteBuffer(bytes: stream)
        var decoding = Decoding()
        do {
            while let frame = try decoder.decode(buffer: &buffer) {
                decoding.frames.append(frame)
            }
        } catch {
            decoding.failed = true
        }
        decoding.consumed = buffer.readerIndex
        return decoding
    }

    static func decodeMessages(_ stream: ArraySlice<UInt8>, maxFrameLength: Int) -> Decoding {
        var decoder = PeerMessageDecoder(maxFrameLength: maxFrameLength, streamOffset: 0)
        var buffer = ByteBuffer(bytes: stream)
        var decoding = Decoding()
        do {
            while let message = try decoder.decode(buffer: &buffer) {
                decoding.frames.append(.message(message))
            }
        } catch let error as PeerWireError {
            decoding.failed = true
            FuzzCheck.require(error.offset == decoder.streamOffset, "an error names the offset of its frame")
        } catch {
            FuzzCheck.require(false, "untyped error \(error)")
        }
        decoding.consumed = buffer.readerIndex
        FuzzCheck.require(decoder.streamOffset == decoding.consumed, "the stream offset counts the bytes consumed")
        return decoding
    }

    static func decodeFramed(_ stream: [UInt8], maxFrameLength: Int, readSizes: [Int]) -> Decoding {
        let channel = EmbeddedChannel(handler: PeerWireFramer(maxFrameLength: maxFrameLength))
        defer { _ = try? channel.finish() }
        var decoding = Decoding()
        var offset = 0
        var read = 0
        while offset < stream.count, !decoding.failed {
            let end = min(stream.count, offset + readSizes[read % readSizes.count])
            do {
                try channel.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
            } catch {
                decoding.failed = true
            }
            while let frame = try? channel.readInbound(as: PeerWireFrame.self) {
                decoding.frames.append(frame)
            }
            offset = end
            read += 1
        }
        return decoding
    }

    /// How many frames of a stream also go through ``PeerWireEncoder`` in a channel. A channel write costs
    /// as much as the decoding of a whole short stream: all of them would halve the executions a second.
    static let framesThroughEncoder = 4

    /// The frames as the `ByteBuffer` writers write them; the first few also through ``PeerWireEncoder``
    /// in a channel, which must give the same bytes.
    static func encode(_ frames: [PeerWireFrame]) -> [UInt8] {
        var buffer = ByteBuffer()
        var prefixLength = 0
        for (index, frame) in frames.enumerated() {
            switch frame {
            case .handshake(let handshake): buffer.writePeerHandshake(handshake)
            case .message(let message): buffer.writePeerMessage(message)
            }
            if index < framesThroughEncoder { prefixLength = buffer.writerIndex }
        }
        let bytes = Array(buffer.readableBytesView)
        let channel = EmbeddedChannel(handler: PeerWireEncoder())
        defer { _ = try? channel.finish() }
        var throughEncoder: [UInt8] = []
        for frame in frames.prefix(framesThroughEncoder) {
            _ = try? channel.writeOutbound(frame)
            while var written = try? channel.readOutbound(as: ByteBuffer.self) {
                throughEncoder += written.readBytes(length: written.readableBytes) ?? []
            }
        }
        FuzzCheck.require(
            throughEncoder[...] == bytes.prefix(prefixLength), "the encoder writes what the writers write")
        return bytes
    }
}
