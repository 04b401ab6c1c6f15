import NIOCore

/// Frames peer handshakes: 68 bytes each, refused as soon as the first bytes are not
/// `\x13BitTorrent protocol`.
///
/// A connection carries one handshake, so on its own this decoder is mostly for tests;
/// ``PeerWireDecoder`` runs it once and then switches to messages.
public struct PeerHandshakeDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    /// Decodes to handshakes.
    public typealias InboundOut = PeerHandshake

    /// Bytes consumed so far, counted from the start of the stream; errors report offsets in it.
    public private(set) var streamOffset: Int

    /// A decoder whose stream starts at `streamOffset`.
    public init(streamOffset: Int = 0) {
        self.streamOffset = streamOffset
    }

    /// Decodes one handshake; `nil` when more bytes are needed.
    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerHandshake? {
        do throws(PeerWireError) {
            guard let handshake = try buffer.readPeerHandshake() else { return nil }
            streamOffset += PeerHandshake.encodedLength
            return handshake
        } catch {
            throw error.at(offset: streamOffset)
        }
    }

    /// Decodes what is left at the end of the stream; an incomplete handshake stays in the buffer.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerHandshake? {
        try decode(buffer: &buffer)
    }
}
