import NIOCore
import NIOHTTP1

/// Sends one `GET` once it is on an active connection and hands the response to an
/// ``HTTPResponseCollector``; it completes `promise` exactly once and closes the connection when the
/// collector finishes or fails, or when the connection dies first. Over TLS it closes without the TLS
/// shutdown exchange (``TLSClientContext/closeAbruptly(_:)``), so a server flooding it is not read on.
///
/// Everything happens on the channel's event loop; the handler is created there and never leaves it.
/// A connection that closed before the handler was added fails the request at once.
final class HTTPTrackerRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    /// The server as errors name it (`host[:port]`).
    private let server: String
    private let promise: EventLoopPromise<HTTPResponseCollector.Outcome>
    private var collector: HTTPResponseCollector
    private var completed = false
    private var sent = false

    /// A handler that asks for `target` on `hostHeader` and collects a body of at most `limit` bytes.
    init(
        target: String, hostHeader: String, userAgent: String, limit: Int,
        promise: EventLoopPromise<HTTPResponseCollector.Outcome>
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: hostHeader)
        headers.add(name: "User-Agent", value: userAgent)
        headers.add(name: "Accept-Encoding", value: "identity")
        headers.add(name: "Connection", value: "close")
        self.server = hostHeader
        self.head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        self.promise = promise
        self.collector = HTTPResponseCollector(limit: limit)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(collector.receive(unwrapInboundIn(data)), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(collector.connectionClosed(), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: TrackerError
        if let error = error as? TrackerError {
            failure = error
        } else if let tls = TLSClientContext.describing(error, host: server) {
            failure = .tls(tls)
        } else if error is HTTPParserError {
            failure = .malformed("HTTP: \(error)")
        } else {
            failure = .connection("\(error)")
        }
        fail(failure, context: context)
    }

    /// Fails the request (the total timeout uses this) and closes the connection.
    func fail(_ error: TrackerError, context: ChannelHandlerContext) {
        guard !completed else { return }
        completed = true
        promise.fail(error)
        TLSClientContext.closeAbruptly(context.channel)
    }

    private func perform(_ action: HTTPResponseCollector.Action, context: ChannelHandlerContext) {
        switch action {
        case .read:
            return
        case .finish(let outcome):
            guard !completed else { return }
            completed = true
            promise.succeed(outcome)
            TLSClientContext.closeAbruptly(context.channel)
        case .fail(let error):
            fail(error, context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        guard !completed else { return }
        completed = true
        promise.fail(TrackerError.connection("connection closed before the response was complete"))
    }
}
