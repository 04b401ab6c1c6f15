import NIOCore
import NIOHTTP1
import NIOPosix

/// Connections to web servers: where every web seed connection is opened and its pipeline built (one
/// place: for `https`, the TLS client of ``TLSClientContext`` goes first, in front of the HTTP codec).
///
/// The pipeline: a bound on the bytes of each response head (``WebSeedHeadLimit``), NIO's HTTP/1.1
/// client codec, a read timeout that turns silence (no first byte, a stalled body) into
/// ``WebSeedError/timedOut(_:)``, and the async channel the worker reads and writes, whose back
/// pressure stops reading from the socket while the session is behind.
enum WebSeedChannel {
    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    /// Where a connection goes: host and port of an `http` or `https` URL.
    struct Endpoint: Hashable, Sendable {
        var host: String
        var port: Int
        /// Over TLS (`https`): the certificate checked against ``WebSeedConfiguration/tls`` and the host.
        var secure = false

        init(host: String, port: Int, secure: Bool = false) {
            self.host = host
            self.port = port
            self.secure = secure
        }

        init(_ url: TrackerURL) {
            self.init(host: url.host, port: url.port, secure: url.scheme == .https)
        }
    }

    static let channelConfiguration = Connection.Configuration(
        backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8))

    /// Opens a connection to `endpoint`, or throws a ``WebSeedError``. An `https` connection is
    /// returned once its TLS handshake has ended (``TLSHandshakeWatch``): a certificate that is not
    /// trusted fails here, with its reason, before any request is written.
    static func connect(
        to endpoint: Endpoint, group: any EventLoopGroup, configuration: WebSeedConfiguration
    ) async throws(WebSeedError) -> Connection {
        let tls = try tlsContext(for: endpoint, configuration: configuration)
        let connection: Connection
        let handshake: EventLoopFuture<Void>?
        do {
            (connection, handshake) = try await ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try tls?.addClientHandler(to: pipeline, host: endpoint.host)
                        let limit = WebSeedHeadLimit(maxBytes: configuration.maxHeadBytes)
                        try pipeline.addHandler(limit)
                        try pipeline.addHTTPClientHandlers(enableOutboundHeaderValidation: true)
                        try pipeline.addHandler(IdleStateHandler(readTimeout: TimeAmount(configuration.stallTimeout)))
                        try pipeline.addHandler(WebSeedResponseWatch(limit: limit))
                        var handshake: EventLoopFuture<Void>?
                        if tls != nil {
                            let watch = TLSHandshakeWatch(eventLoop: channel.eventLoop)
                            try pipeline.addHandler(watch)
                            handshake = watch.handshake
                        }
                        let connection = try Connection(
                            wrappingChannelSynchronously: channel, configuration: channelConfiguration)
                        return (connection, handshake)
                    }
                }
        } catch {
            throw describing(error, endpoint: endpoint)
        }
        guard let handshake else { return connection }
        do {
            // Bounded by the read timeout, which closes a channel whose server never answers; a
            // cancelled worker closes it at once.
            try await withTaskCancellationHandler {
                try await handshake.get()
            } onCancel: {
                connection.channel.close(promise: nil)
            }
            return connection
        } catch {
            try? await connection.executeThenClose { _, _ in }
            throw describing(error, endpoint: endpoint)
        }
    }

    /// The ``WebSeedError`` of a connection to `endpoint` that could not be opened.
    private static func describing(_ error: any Error, endpoint: Endpoint) -> WebSeedError {
        switch error {
        case ChannelError.connectTimeout:
            return .timedOut("connecting to \(endpoint.host):\(endpoint.port)")
        case let error as WebSeedError:
            return error
        default:
            if endpoint.secure, let tls = TLSClientContext.describing(error, host: endpoint.host) {
                return .connection("\(tls)")
            }
            return .connection("\(endpoint.host):\(endpoint.port): \(error)")
        }
    }

    /// The TLS context of an `https` endpoint (`nil` for `http`), or the error that makes it unusable.
    private static func tlsContext(
        for endpoint: Endpoint, configuration: WebSeedConfiguration
    ) throws(WebSeedError) -> TLSClientContext? {
        guard endpoint.secure else { return nil }
        do {
            return try configuration.tls.sharedContext()
        } catch {
            throw .connection("\(endpoint.host):\(endpoint.port): \(error)")
        }
    }

    /// The error a failed read of the async channel stands for.
    static func translate(_ error: any Error, host: String? = nil) -> WebSeedError {
        if let host, let tls = TLSClientContext.describing(error, host: host) {
            return .connection("\(tls)")
        }
        return switch error {
        case let error as WebSeedError: error
        case is HTTPParserError: .malformed("HTTP: \(error)")
        default: .connection("\(error)")
        }
    }
}

/// Counts the bytes of a response before its head is parsed: past `maxBytes` the connection fails
/// with ``WebSeedError/malformed(_:)`` (NIO's HTTP parser does not bound a head on its own). A request
/// written starts the count; the head parsed (``WebSeedResponseWatch``) stops it.
final class WebSeedHeadLimit: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let maxBytes: Int
    private var counting = true
    private var count = 0

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    func headArrived() {
        counting = false
        count = 0
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        counting = true
        count = 0
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if counting { count += unwrapInboundIn(data).readableBytes }
        // The codec parses what it is given at once: a head within these bytes has arrived by now.
        context.fireChannelRead(data)
        if counting, count > maxBytes {
            counting = false
            context.fireErrorCaught(WebSeedError.malformed("response head over \(maxBytes) bytes"))
            context.close(promise: nil)
        }
    }
}

/// Tells the ``WebSeedHeadLimit`` when a response head arrived, and turns the read timeout of
/// `IdleStateHandler` into an error of the connection.
final class WebSeedResponseWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart

    private let limit: WebSeedHeadLimit

    init(limit: WebSeedHeadLimit) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { limit.headArrived() }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? IdleStateHandler.IdleStateEvent, event == .read {
            context.fireErrorCaught(WebSeedError.timedOut("waiting for the server's next bytes"))
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
