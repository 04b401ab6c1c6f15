import NIOCore

/// The inbound half of the peer wire codec: cuts socket reads into ``PeerWireFrame``s with a
/// ``PeerWireDecoder``, copying as little as it can.
///
/// NIO's `ByteToMessageHandler` keeps one cumulation buffer: every read that follows a partial frame
/// is appended to it (a copy of the whole read), and because the frames passed on are slices of
/// that buffer, reclaiming its consumed bytes copies the rest into a new allocation. On a 1 GiB
/// download that was 8% of btq's CPU time. Here frames that lie wholly inside one read are passed on
/// as slices of it, with no copy; only a frame that straddles reads is copied. A frame of at most
/// ``exactAllocationLimit`` bytes (a `piece` message, the usual case) is copied into a buffer of
/// exactly its length, known from its prefix; a longer one into a buffer that grows as its bytes
/// arrive, at most doubling each time, so a peer that announces a long frame (up to the frame limit,
/// which the decoder checks as soon as the prefix is in) and goes silent costs about what it sent.
/// The partial frame's buffer counts against a ``PeerMemoryBudget`` when one is given.
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
    private let budget: PeerMemoryBudget?
    /// The bytes charged to ``budget`` for ``partial``.
    private var charged = 0

    /// A straddling frame up to this long gets a buffer of its exact length at once: 64 KiB.
    public static let exactAllocationLimit = 64 << 10
    /// The first buffer of a longer frame holds at least this much: 16 KiB.
    static let growingStart = 16 << 10

    /// A framer for a fresh connection whose messages may be at most `maxFrameLength` bytes long; its
    /// partial frames count against `budget`, if any.
    public init(maxFrameLength: Int = PeerMessageDecoder.defaultMaxFrameLength, budget: PeerMemoryBudget? = nil) {
        decoder = PeerWireDecoder(maxFrameLength: maxFrameLength)
        self.budget = budget
    }

    deinit {
        budget?.charge(-charged)
    }

    /// The capacity of the buffer holding the partial frame now (0 when there is none).
    public var partialCapacity: Int { partial?.capacity ?? 0 }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        defer { account() }
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
                let length = Self.startCapacity(expected: expected, available: incoming.readableBytes)
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
            let needed = buffer.writerIndex + piece.readableBytes
            if needed > buffer.capacity {
                let whole = decoder.frameLength(startingWith: buffer) ?? needed
                buffer.reserveCapacity(Swift.max(needed, Swift.min(whole, buffer.capacity * 2)))
            }
            buffer.writeBuffer(&piece)
            if let frame = try decoder.decode(buffer: &buffer) {
                context.fireChannelRead(wrapInboundOut(frame))
                return
            }
        }
        partial = buffer
    }

    /// The first capacity for a frame of `expected` bytes of which `available` arrived.
    static func startCapacity(expected: Int, available: Int) -> Int {
        guard expected > exactAllocationLimit else { return Swift.max(expected, available) }
        return Swift.max(available, Swift.min(expected, growingStart))
    }

    private func account() {
        guard let budget else { return }
        let now = partial?.capacity ?? 0
        if now != charged {
            budget.charge(now - charged)
            charged = now
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        partial = nil
        account()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        partial = nil
        account()
        context.fireChannelInactive()
    }
}
