import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One HTTP connection of the RPC server, after NIO's HTTP/1.1 decoder (which parses the request and
/// bounds its head): checks each request's head with the ``RPCGate`` before reading its body, reads a
/// body of at most ``RPCSettings/maximumBodySize`` (a larger `Content-Length` is answered 413 at once and
/// the connection closed, nothing of it read), and hands it to the ``RPCDispatcher``; serves the web
/// interface's files and the metrics. A request it refuses closes the connection after the answer.
final class RPCHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Where a request goes.
    private enum Route {
        case rpc, metrics, web(String), redirect, notFound
    }

    private enum State {
        case idle
        case reading(HTTPRequestHead, ByteBuffer)
        /// Answered (or being answered); the rest of the request is dropped.
        case ignoring
    }

    private let services: RPCServices
    private var state = State.idle
    /// Answers being prepared off the event loop.
    private var answersPending = 0

    init(services: RPCServices) {
        self.services = services
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            received(head, context: context)
        case .body(var part):
            guard case .reading(let head, var body) = state else { return }
            guard body.readableBytes + part.readableBytes <= services.current.settings.maximumBodySize else {
                state = .ignoring
                return reject(413, tooLarge, context: context)
            }
            state = .idle  // drop the reference to body while appending, so it is not copied
            body.writeBuffer(&part)
            state = .reading(head, body)
        case .end:
            guard case .reading(let head, let body) = state else {
                if case .ignoring = state { state = .idle }
                return
            }
            state = .ignoring
            dispatch(head, body, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // A connection waiting for its answer is not idle: only the client's silence counts.
            if answersPending == 0 { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private var tooLarge: String {
        "413: Payload Too Large. A request body may hold at most \(services.current.settings.maximumBodySize) bytes."
    }

    private func received(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let route = Self.route(head.uri)
        let access = services.current
        let decision = access.gate.decide(
            host: head.headers.first(name: "host"), authorization: head.headers.first(name: "authorization"),
            sessionID: head.headers.first(name: RPCGate.sessionHeader),
            needsSession: {
                if case .rpc = route { return true }
                return false
            }())
        if case .reject(let status, let message, let headers) = decision {
            // The body of a refused request is read and dropped when it is small, so the answer is not
            // lost to a reset; a large or unknown one closes the connection after the answer.
            state = .ignoring
            let length = head.headers.first(name: "content-length").flatMap(Int.init)
            let small =
                (length ?? 0) <= access.settings.maximumBodySize && !head.headers.contains(name: "transfer-encoding")
            return send(status, message, headers: headers, close: !small || !head.isKeepAlive, context: context)
        }
        switch route {
        case .rpc:
            guard head.method == .POST else {
                state = .ignoring
                return send(405, "405: Method Not Allowed. The RPC takes POST.", close: true, context: context)
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > access.settings.maximumBodySize
            {
                state = .ignoring
                return reject(413, tooLarge, context: context)
            }
            state = .reading(head, context.channel.allocator.buffer(capacity: 0))
        case .metrics:
            state = .ignoring
            let keepAlive = head.isKeepAlive
            respondLater(context: context) { services in
                let text = await services.metricsText()
                return (200, "text/plain; version=0.0.4; charset=utf-8", ByteBuffer(bytes: text), keepAlive)
            }
        case .web(let path):
            state = .ignoring
            let keepAlive = head.isKeepAlive
            let web = access.web
            respondLater(context: context) { services in
                switch await services.webFile(path, in: web) {
                case .some(let file): return (200, file.contentType, ByteBuffer(bytes: file.bytes), keepAlive)
                case .none: return (404, "text/plain; charset=utf-8", ByteBuffer(string: "404: Not Found"), keepAlive)
                }
            }
        case .redirect:
            state = .ignoring
            send(
                301, "Moved to /transmission/web/", headers: ["Location": "/transmission/web/"],
                close: !head.isKeepAlive, context: context)
        case .notFound:
            state = .ignoring
            send(404, "404: Not Found", close: !head.isKeepAlive, context: context)
        }
    }

    private func dispatch(_ head: HTTPRequestHead, _ body: ByteBuffer, context: ChannelHandlerContext) {
        // Handed over whole to the dispatcher, which lets it go once parsed (not kept by this closure
        // while the request is carried out).
        let bytes = TakeOnce(Array(body.readableBytesView))
        let keepAlive = head.isKeepAlive
        respondLater(context: context) { services in
            let answer = await services.dispatcher.answer(to: bytes.take() ?? [])
            return (200, "application/json; charset=UTF-8", answer, keepAlive)
        }
    }

    /// Runs `work` off the event loop and sends what it answers on the connection.
    private func respondLater(
        context: ChannelHandlerContext,
        _ work: @escaping @Sendable (RPCServices) async -> (Int, String, ByteBuffer, Bool)
    ) {
        let services = self.services
        let loop = context.eventLoop
        answersPending += 1
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        Task {
            let (status, type, bytes, keepAlive) = await work(services)
            loop.execute {
                let (handler, context) = bound.value
                handler.answersPending -= 1
                guard context.channel.isActive else { return }
                handler.state = .idle
                handler.write(status, type, bytes, headers: [:], close: !keepAlive, context: context)
            }
        }
    }

    private func reject(_ status: Int, _ message: String, context: ChannelHandlerContext) {
        send(status, message, close: true, context: context)
    }

    private func send(
        _ status: Int, _ message: String, headers: [String: String] = [:], close: Bool, context: ChannelHandlerContext
    ) {
        write(
            status, "text/plain; charset=utf-8", ByteBuffer(string: message + "\n"), headers: headers, close: close,
            context: context)
    }

    /// Sends `bytes` as the answer: the buffer itself, not a copy.
    private func write(
        _ status: Int, _ type: String, _ bytes: ByteBuffer, headers: [String: String], close: Bool,
        context: ChannelHandlerContext
    ) {
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status))
        head.headers.add(name: "Content-Type", value: type)
        head.headers.add(name: "Content-Length", value: String(bytes.readableBytes))
        head.headers.add(name: "Server", value: "btq")
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head.headers.add(name: name, value: value) }
        if close { head.headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        let done = context.writeAndFlushAndReturnFuture(wrapOutboundOut(.end(nil)))
        if close {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private static func route(_ uri: String) -> Route {
        let path = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        switch path {
        case "/transmission/rpc", "/transmission/rpc/": return .rpc
        case "/metrics": return .metrics
        case "/", "/transmission", "/transmission/", "/transmission/web": return .redirect
        default:
            if path.hasPrefix("/transmission/web/") { return .web(String(path.dropFirst("/transmission/web/".count))) }
            return .notFound
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushAndReturnFuture(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}

/// A value handed over once: the first ``take()`` gets it, and nothing keeps it after.
private final class TakeOnce<Value: Sendable>: Sendable {
    private let value: Mutex<Value?>

    init(_ value: Value) { self.value = Mutex(value) }

    func take() -> Value? {
        value.withLock { stored in
            defer { stored = nil }
            return stored
        }
    }
}
