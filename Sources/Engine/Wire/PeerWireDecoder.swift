import NIOCore

/// The inbound side of a peer connection: one handshake, then length-prefixed messages.
///
/// One decoder with two phases rather than two handlers swapped in the pipeline: bytes that
/// arrive in the same read as the handshake (a peer may send its bitfield right behind it) stay
/// in the one cumulation buffer and need no hand-over between handlers. It delegates to
/// ``PeerHandshakeDecoder`` and then ``PeerMessageDecoder``, so both keep their limits and
/// error offsets count from the first byte of the connection.
public struct PeerWireDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    /// Decodes to a handshake, then messages.
    public typealias InboundOut = PeerWireFrame

    private enum Phase: Sendable {
        case handshake(PeerHandshakeDecoder)
        case messages(PeerMessageDecoder)
    }

    private var phase: Phase
    /// The frame limit the message phase applies; see ``PeerMessageDecoder/maxFrameLength``.
    public let maxFrameLength: Int

    /// A decoder for a fresh connection whose messages may be at most `maxFrameLength` bytes long.
    public init(maxFrameLength: Int = PeerMessageDecoder.defaultMaxFrameLength) {
        precondition(maxFrameLength >= 1, "a frame limit must admit at least the id byte")
        self.maxFrameLength = maxFrameLength
        self.phase = .handshake(PeerHandshakeDecoder())
    }

    /// Whether the handshake has been decoded.
    public var hasDecodedHandshake: Bool {
        if case .messages = phase { return true }
        return false
    }

    /// Decodes the handshake, then one message per call; `nil` when more bytes are needed.
    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerWireFrame? {
        switch phase {
        case .handshake(var decoder):
            guard let handshake = try decoder.decode(buffer: &buffer) else { return nil }
            phase = .messages(PeerMessageDecoder(maxFrameLength: maxFrameLength, streamOffset: decoder.streamOffset))
            return .handshake(handshake)
        case .messages(var decoder):
            let message = try decoder.decode(buffer: &buffer)
            phase = .messages(decoder)
            return message.map(PeerWireFrame.message)
        }
    }

    /// The whole length of the frame `buffer` starts with (length prefix included), once that is known:
    /// the handshake's is fixed; a message's needs its 4-byte prefix.
    public func frameLength(startingWith buffer: ByteBuffer) -> Int? {
        switch phase {
        case .handshake:
            return PeerHandshake.encodedLength
        case .messages:
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
            return 4 + Int(length)
        }
    }

    /// How many more bytes the frame `buffer` starts with needs before ``decode(buffer:)`` can do more
    /// with it: the rest of the frame, or of its length prefix while that is incomplete.
    public func bytesMissing(in buffer: ByteBuffer) -> Int {
        let known = frameLength(startingWith: buffer) ?? 4
        return Swift.max(1, known - buffer.readableBytes)
    }

    /// Decodes what is left at the end of the stream; an incomplete frame stays in the buffer.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerWireFrame? {
        try decode(buffer: &buffer)
    }
}
