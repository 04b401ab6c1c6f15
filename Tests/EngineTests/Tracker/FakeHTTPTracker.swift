import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP tracker on 127.0.0.1 and an ephemeral port that answers each request as `route` says and
/// reports every request it received on ``requests``.
final class FakeHTTPTracker: Sendable {
    enum Reply: Sendable {
        /// Status 200, `Content-Length`, this body.
        case ok([UInt8])
        /// Status 200 without `Content-Length`: the body goes out chunked, `chunk` bytes at a time.
        case chunked(total: Int, chunk: Int)
        /// This status, empty body.
        case status(Int)
        /// A redirect to `location`.
        case redirect(Int, location: String)
        /// Never answers.
        case silent
    }

    struct Request: Sendable {
        var uri: String
        var headers: HTTPHeaders

        /// The query parameters, still percent-encoded.
        var query: [String: String] {
            guard let mark = uri.firstIndex(of: "?") else { return [:] }
            var out: [String: String] = [:]
            for pair in uri[uri.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                out[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            return out
        }

        var path: String { String(uri.prefix { $0 != "?" }) }
    }

    let port: Int
    let requests: AsyncStream<Request>
    private let channel: any Channel

    private init(channel: any Channel, requests: AsyncStream<Request>) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.requests = requests
    }

    static func start(route: @escaping @Sendable (Request) -> Reply) async throws -> FakeHTTPTracker {
        let (stream, continuation) = AsyncStream.makeStream(of: Request.self)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(
                        Handler(route: route, requests: continuation))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeHTTPTracker(channel: channel, requests: stream)
    }

    /// `http://127.0.0.1:<port><path>`.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() async {
        try? await channel.close()
    }

    /// The next `count` requests, in order.
    func next(_ count: Int) async -> [Request] {
        var out: [Request] = []
        for await request in requests {
            out.append(request)
            if out.count == count { break }
        }
        return out
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let route: @Sendable (Request) -> Reply
        private let requests: AsyncStream<Request>.Continuation
        private var current: Request?

        init(route: @escaping @Sendable (Request) -> Reply, requests: AsyncStream<Request>.Continuation) {
            self.route = route
            self.requests = requests
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                current = Request(uri: head.uri, headers: head.headers)
            case .body:
                break
            case .end:
                guard let request = current else { return }
                requests.yield(request)
                respond(route(request), context: context)
            }
        }

        private func respond(_ reply: Reply, context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "Connection", value: "close")
            switch reply {
            case .silent:
                return
            case .ok(let body):
                headers.add(name: "Content-Length", value: "\(body.count)")
                context.write(
                    wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            case .chunked(let total, let chunk):
                context.write(
                    wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                var sent = 0
                let piece = ByteBuffer(repeating: UInt8(ascii: "x"), count: chunk)
                while sent < total, context.channel.isActive {
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(piece))), promise: nil)
                    sent += chunk
                }
            case .status(let code):
                headers.add(name: "Content-Length", value: "0")
                let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
            case .redirect(let code, let location):
                headers.add(name: "Content-Length", value: "0")
                headers.add(name: "Location", value: location)
                let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
