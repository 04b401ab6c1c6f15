import NIOCore

/// The inbound half of the peer wire codec: cuts socket reads into ``PeerWireFrame``s with a
/// ``PeerWireDecoder``, copying as little as it can.
///
/// NIO's `ByteToMessageHandler` keeps one cumulation buffer: every read that follows a partial frame
/// is appended to it (a copy of the whole read), and because the frames passed on are slices of
/// that buffer, reclaiming its consumed bytes copies the rest into a new allocation. On a 1 GiB
/// download that was 8% of btq's CPU time. Here frames that lie wholly inside one read are passed on
/// as slices of it, with no copy; only a frame that straddles reads is copied, into a buffer of
/// exactly its length (known from its prefix, which the decoder has already checked against the
/// frame limit, so a hostile length never causes the allocation).
///
/// After a decoding error the error is fired once (the connection's handler closes it) and later
/// bytes are ignored. A partial frame at the end of the stream is dropped, as the decoder's
/// `decodeLast` would leave it.
public final class PeerWireFramer: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = PeerWireFrame

    private var decoder: PeerWireDecoder
    /// The start of a frame that continues in the next read.
    private var partial: ByteBuffer?
    private var failed = false

    /// A framer for a fresh connection whose messages may be at most `maxFrameLength` bytes long.
    public init(maxFrameLength: Int = PeerMessageDecoder.defaultMaxFrameLength) {
        decoder = PeerWireDecoder(maxFrameLength: maxFrameLength)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = unwrapInboundIn(data)
        do {
            if partial != nil {
                try completePartial(from: &incoming, context: context)
                if partial != nil { return }  // the read ended inside the frame
            }
            while let frame = try decoder.decode(buffer: &incoming) {
                context.fireChannelRead(wrapInboundOut(frame))
            }
            if incoming.readableBytes > 0 {
                // Its length once the prefix is in; until then, room for a block message, the usual frame.
                let expected = decoder.frameLength(startingWith: incoming) ?? 4 + 9 + PieceLayout.blockSize
                let length = max(expected, incoming.readableBytes)
                var start = context.channel.allocator.buffer(capacity: length)
                start.writeBuffer(&incoming)
                partial = start
            }
        } catch {
            failed = true
            partial = nil
            context.fireErrorCaught(error)
        }
    }

    /// Moves bytes from `incoming` into ``partial`` until its frame is complete (then passes it on) or
    /// `incoming` is used up. The decoder sees the partial frame after each step, so a prefix that
    /// announces too long a frame is refused as soon as it is whole.
    private func completePartial(from incoming: inout ByteBuffer, context: ChannelHandlerContext) throws {
        guard var buffer = partial else { return }
        partial = nil
        while incoming.readableBytes > 0 {
            let missing = decoder.bytesMissing(in: buffer)
            var piece = incoming.readSlice(length: min(missing, incoming.readableBytes))!
            buffer.writeBuffer(&piece)
            if let frame = try decoder.decode(buffer: &buffer) {
                context.fireChannelRead(wrapInboundOut(frame))
                return
            }
        }
        partial = buffer
    }

    public func channelInactive(context: ChannelHandlerContext) {
        partial = nil
        context.fireChannelInactive()
    }
}
