import NIOCore

/// The outbound side of a peer connection: writes handshakes and messages as bytes.
///
/// Frames written between two flushes share buffers: fixed-size messages and the heads of the others
/// are appended to one pending buffer, handed down the pipeline at the flush (or once it holds
/// ``coalescingLimit`` bytes). A batch of 32 `request` messages is then one 544-byte buffer, one trip
/// down the pipeline and one `iovec`, instead of 32 of each. A payload of at least
/// ``separateWriteThreshold`` bytes (a 16 KiB `piece` block, a large bitfield) is not copied: the
/// pending buffer, ending with its head, goes down first, then the payload as its own buffer, and the
/// socket gathers them in one vectored write.
///
/// Promises complete when the buffer holding their frame's last byte is written. Frames still pending
/// when the connection closes fail as unflushed writes do in NIO.
public final class PeerWireEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    /// Takes frames.
    public typealias OutboundIn = PeerWireFrame
    /// Emits bytes.
    public typealias OutboundOut = ByteBuffer

    /// Payloads this long or longer are written as their own buffer instead of being copied.
    public static let separateWriteThreshold = 1024

    /// The pending buffer goes down the pipeline, before any flush, once it holds this many bytes.
    public static let coalescingLimit = 16 << 10

    /// Bytes not yet handed down the pipeline.
    private var pending: ByteBuffer?
    /// Completes when ``pending`` is written; later frames' promises follow it.
    private var pendingPromise: EventLoopPromise<Void>?

    /// An encoder with nothing pending.
    public init() {}

    /// Encodes one frame into the pending buffer; a large payload goes down right behind it.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = pending ?? context.channel.allocator.buffer(capacity: 1024)
        pending = nil
        var trailing: ByteBuffer?
        switch unwrapOutboundIn(data) {
        case .handshake(let handshake):
            buffer.writePeerHandshake(handshake)
        case .message(let message):
            if var payload = buffer.writePeerMessageHead(message) {
                if payload.readableBytes < Self.separateWriteThreshold {
                    buffer.writeBuffer(&payload)
                } else {
                    trailing = payload
                }
            }
        }
        if let trailing {
            emit(buffer, context: context)
            context.write(wrapOutboundOut(trailing), promise: promise)
            return
        }
        pending = buffer
        join(promise)
        if buffer.readableBytes >= Self.coalescingLimit { emitPending(context: context) }
    }

    /// Hands the pending buffer down, then flushes.
    public func flush(context: ChannelHandlerContext) {
        emitPending(context: context)
        context.flush()
    }

    /// Hands the pending buffer down unflushed, so the close fails it as any unflushed write.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        emitPending(context: context)
        context.close(mode: mode, promise: promise)
    }

    /// Hands the pending buffer down before the encoder leaves the pipeline.
    public func handlerRemoved(context: ChannelHandlerContext) {
        emitPending(context: context)
    }

    private func join(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if let pendingPromise {
            pendingPromise.futureResult.cascade(to: promise)
        } else {
            pendingPromise = promise
        }
    }

    /// Writes `buffer` (the pending bytes and what was appended to them) with the pending promise.
    private func emit(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        let promise = pendingPromise
        pendingPromise = nil
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    private func emitPending(context: ChannelHandlerContext) {
        guard let buffer = pending else { return }
        pending = nil
        emit(buffer, context: context)
    }
}

@available(*, unavailable)
extension PeerWireEncoder: Sendable {}
