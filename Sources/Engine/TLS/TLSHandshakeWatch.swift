import NIOCore

#if TLS
import NIOTLS
#endif

/// Tells when the TLS handshake of a client channel has ended: ``handshake`` succeeds once the server's
/// certificate is verified and the session is up, and fails with what ended the channel before that
/// (a refused certificate, a reset, a timeout fired by a later handler, the channel closed).
///
/// Without it, a connection's first write races the handshake: a certificate refused before the write
/// closes the channel, and the write fails with "I/O on closed channel" instead of the reason. A
/// connection that waits for ``handshake`` before it is used fails with the reason every time.
///
/// Add it after the handlers that turn a stall or an oversized answer into errors, so that those end
/// the wait too; one channel, one watch.
final class TLSHandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>

    /// Completes once: succeeded at the handshake's end, or failed with what ended the channel first.
    var handshake: EventLoopFuture<Void> { promise.futureResult }

    init(eventLoop: any EventLoop) {
        promise = eventLoop.makePromise()
    }

    private var ended = false

    private func end(_ result: Result<Void, any Error>) {
        guard !ended else { return }
        ended = true
        promise.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        #if TLS
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            end(.success(()))
        }
        #endif
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end(.failure(ChannelError.ioOnClosedChannel))
    }
}
