import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The Transmission RPC server of `btq run`: POST `/transmission/rpc`, GET `/metrics` and the web
/// interface under `/transmission/web/`, over HTTP/1.1 parsed by NIO (`NIOHTTP1`). Bounded: at most
/// ``RPCSettings/maximumConnections`` connections (more are closed at accept), request heads of
/// NIO's 80 KiB, bodies of ``RPCSettings/maximumBodySize``, ``RPCSettings/idleTimeoutSeconds`` without a
/// byte before a connection is closed.
public final class RPCServer: Sendable {
    /// Why the server does not start.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The port bound (the one asked, or the one given for port 0).
    public let port: Int
    /// The session id clients must send.
    public let sessionID: String
    private let channel: any Channel

    private init(port: Int, sessionID: String, channel: any Channel) {
        self.port = port
        self.sessionID = sessionID
        self.channel = channel
    }

    /// Binds `settings.bindAddress:settings.port` and serves `backend`.
    ///
    /// - Throws: ``StartError`` when the address is not a loopback one and no password is set, or when
    ///   it cannot be bound.
    public static func start(
        settings: RPCSettings, backend: any RPCBackend,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCServer {
        guard settings.isLoopbackBind || settings.password != nil else {
            throw StartError(
                description: """
                    the RPC server would listen on \(settings.bindAddress), which is not a loopback address, without \
                    a password; set one with `btq config set rpc_password ...` (and rpc_username), or bind to 127.0.0.1
                    """)
        }
        let gate = RPCGate(settings: settings)
        let services = RPCServices(
            settings: settings, gate: gate, dispatcher: RPCDispatcher(backend: backend, settings: settings),
            backend: backend, web: settings.webDirectory.flatMap { RPCWebFiles(folder: $0) })
        let open = ConnectionCount()
        let limit = settings.maximumConnections
        let idle = TimeAmount.seconds(settings.idleTimeoutSeconds)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let admitted = open.value.withLock { count -> Bool in
                    guard count < limit else { return false }
                    count += 1
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.value.withLock { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idle))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(RPCHTTPHandler(services: services))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: settings.bindAddress, port: settings.port).get()
        } catch {
            throw StartError(description: "cannot listen on \(settings.bindAddress):\(settings.port): \(error)")
        }
        return RPCServer(port: channel.localAddress?.port ?? settings.port, sessionID: gate.sessionID, channel: channel)
    }

    /// Stops accepting connections.
    public func close() async {
        try? await channel.close()
    }
}

/// The connections the server holds open.
private final class ConnectionCount: Sendable {
    let value = Mutex(0)
}
