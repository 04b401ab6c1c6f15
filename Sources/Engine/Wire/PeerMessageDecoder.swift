import NIOCore

/// Frames length-prefixed peer messages (the part of a connection after the handshake).
///
/// Bounded: a frame announcing more than ``maxFrameLength`` bytes is refused with
/// ``PeerWireError/frameTooLarge(length:limit:)`` as soon as its 4-byte prefix arrives, and a frame
/// whose length does not fit its message id as soon as the id arrives, so a hostile peer never
/// makes the pipeline buffer a frame that will be refused. Errors carry the stream offset of the
/// frame. Use inside `ByteToMessageHandler`, or alone through `NIOSingleStepByteToMessageProcessor`.
public struct PeerMessageDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    /// Decodes to messages.
    public typealias InboundOut = PeerMessage

    /// The default frame limit: 1 MiB.
    ///
    /// A 16 KiB `piece` frame is 16393 bytes, but extension messages (a BEP 9 metadata block is
    /// 16 KiB plus a dictionary) and the bitfields of torrents with more than 131,064 pieces are
    /// longer; 1 MiB covers a bitfield of 8 million pieces.
    public static let defaultMaxFrameLength = 1 << 20

    /// The frame limit for a torrent of `pieceCount` pieces: the larger of 1 MiB and its bitfield frame.
    public static func maxFrameLength(pieceCount: Int) -> Int {
        Swift.max(defaultMaxFrameLength, PeerBitfield.byteCount(forPieceCount: pieceCount) + 1)
    }

    /// The largest frame length (id byte plus payload) accepted.
    public let maxFrameLength: Int
    /// Bytes consumed so far, counted from the start of the stream; errors report offsets in it.
    public private(set) var streamOffset: Int

    /// A decoder refusing frames longer than `maxFrameLength`, whose stream starts at `streamOffset`
    /// (68 when it follows a handshake).
    public init(maxFrameLength: Int = PeerMessageDecoder.defaultMaxFrameLength, streamOffset: Int = 0) {
        precondition(maxFrameLength >= 1, "a frame limit must admit at least the id byte")
        self.maxFrameLength = maxFrameLength
        self.streamOffset = streamOffset
    }

    /// Decodes one message; `nil` when more bytes are needed.
    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerMessage? {
        let before = buffer.readerIndex
        do throws(PeerWireError) {
            let message = try buffer.readPeerMessage(maxFrameLength: maxFrameLength)
            streamOffset += buffer.readerIndex - before
            return message
        } catch {
            throw error.at(offset: streamOffset)
        }
    }

    /// Decodes what is left at the end of the stream; an incomplete frame stays in the buffer.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerMessage? {
        try decode(buffer: &buffer)
    }
}
