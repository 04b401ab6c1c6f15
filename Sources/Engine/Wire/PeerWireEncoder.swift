import NIOCore

/// The outbound side of a peer connection: writes handshakes and messages as bytes.
///
/// Fixed-size messages and the heads of the others go into one small buffer. A payload of at
/// least ``separateWriteThreshold`` bytes (a 16 KiB `piece` block, a large bitfield) is not copied:
/// it is passed down the pipeline as its own buffer right behind its head, and the socket gathers
/// both in one vectored write. Writes only; flushing is up to the caller.
public final class PeerWireEncoder: ChannelOutboundHandler, Sendable {
    /// Takes frames.
    public typealias OutboundIn = PeerWireFrame
    /// Emits bytes.
    public typealias OutboundOut = ByteBuffer

    /// Payloads this long or longer are written as their own buffer instead of being copied.
    public static let separateWriteThreshold = 1024

    /// A stateless encoder.
    public init() {}

    /// Encodes one frame; the promise completes when its last buffer is written.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .handshake(let handshake):
            var buffer = context.channel.allocator.buffer(capacity: PeerHandshake.encodedLength)
            buffer.writePeerHandshake(handshake)
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .message(let message):
            var head = context.channel.allocator.buffer(capacity: 17)
            guard var trailing = head.writePeerMessageHead(message) else {
                context.write(wrapOutboundOut(head), promise: promise)
                return
            }
            if trailing.readableBytes < Self.separateWriteThreshold {
                head.writeBuffer(&trailing)
                context.write(wrapOutboundOut(head), promise: promise)
            } else {
                context.write(wrapOutboundOut(head), promise: nil)
                context.write(wrapOutboundOut(trailing), promise: promise)
            }
        }
    }
}
