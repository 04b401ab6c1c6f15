import NIOCore

/// Hands the frames decoded from one socket read to the next handler as one array, so the task that
/// consumes a connection wakes once per read rather than once per 16 KiB block.
final class PeerFrameBatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = PeerWireFrame
    typealias InboundOut = [PeerWireFrame]

    /// A batch is passed on early when it reaches this many frames.
    private let maxBatch: Int
    private var pending: [PeerWireFrame] = []

    init(maxBatch: Int = 256) {
        self.maxBatch = maxBatch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(unwrapInboundIn(data))
        if pending.count >= maxBatch { flush(context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        flush(context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        flush(context)
        context.fireErrorCaught(error)
    }

    private func flush(_ context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        context.fireChannelRead(wrapInboundOut(batch))
    }
}
