import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The Transmission RPC server of `btq run`: POST `/transmission/rpc`, GET `/metrics` and the web
/// interface under `/transmission/web/`, over HTTP/1.1 parsed by NIO (`NIOHTTP1`). Bounded: at most
/// ``RPCSettings/maximumConnections`` connections (more are closed at accept), request heads of
/// NIO's 80 KiB, bodies of ``RPCSettings/maximumBodySize``, ``RPCSettings/idleTimeoutSeconds`` without a
/// byte before a connection is closed. Its settings may change while it runs (``apply(_:)``).
public final class RPCServer: Sendable {
    /// Why the server does not start.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// What ``apply(_:)`` did.
    public struct Applied: Sendable, Hashable {
        /// Who may talk to it or the web folder changed (in force for the next request).
        public var accessChanged = false
        /// It listens on a new address or port now (the old one closed).
        public var rebound = false
        /// Why the settings were not applied (the previous ones stay in force), if they were not.
        public var refusal: String?
    }

    private struct Listening {
        var channel: any Channel
        var settings: RPCSettings
    }

    /// The session id clients must send.
    public let sessionID: String
    private let services: RPCServices
    private let group: any EventLoopGroup
    private let open = ConnectionCount()
    private let listening: Mutex<Listening?>

    private init(services: RPCServices, group: any EventLoopGroup) {
        self.services = services
        self.group = group
        sessionID = services.sessionID
        listening = Mutex(nil)
    }

    /// The port bound (the one asked, or the one given for port 0).
    public var port: Int {
        listening.withLock { $0.map { $0.channel.localAddress?.port ?? $0.settings.port } ?? 0 }
    }

    /// The settings in force.
    public var settings: RPCSettings { services.current.settings }

    /// Binds `settings.bindAddress:settings.port` and serves `backend`.
    ///
    /// - Throws: ``StartError`` when the address is not a loopback one and no password is set, or when
    ///   it cannot be bound.
    public static func start(
        settings: RPCSettings, backend: any RPCBackend,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCServer {
        if let refusal = refusal(settings) { throw StartError(description: refusal) }
        let services = RPCServices(
            settings: settings, dispatcher: RPCDispatcher(backend: backend, settings: settings), backend: backend,
            sessionID: RPCGate.freshSessionID())
        let server = RPCServer(services: services, group: group)
        let channel = try await server.bind(settings)
        server.listening.withLock { $0 = Listening(channel: channel, settings: settings) }
        return server
    }

    /// Why `settings` may not be served, if they may not: a non-loopback address without a password.
    private static func refusal(_ settings: RPCSettings) -> String? {
        guard !settings.isLoopbackBind, settings.password == nil else { return nil }
        return """
            the RPC server would listen on \(settings.bindAddress), which is not a loopback address, without \
            a password; set one with `btq config set rpc_password ...` (and rpc_username), or bind to 127.0.0.1
            """
    }

    /// Puts `settings` in force while the server runs: the user name, password, whitelist and web folder
    /// for the next request (open connections and the session id stay); a new address or port by binding
    /// it first, then closing the old listening socket (connections already open stay until they end).
    /// Settings that may not be served (a non-loopback address without a password) or an address that
    /// cannot be bound change nothing: the previous settings stay in force, and ``Applied/refusal`` says
    /// why. Called by one task at a time.
    public func apply(_ settings: RPCSettings) async -> Applied {
        var applied = Applied()
        if let refusal = Self.refusal(settings) {
            applied.refusal = refusal
            return applied
        }
        guard let old = listening.withLock({ $0 }) else {
            applied.refusal = "the RPC server is closed"
            return applied
        }
        let addressChanged = old.settings.bindAddress != settings.bindAddress || old.settings.port != settings.port
        if addressChanged {
            do {
                let channel = try await rebind(from: old, to: settings)
                listening.withLock { $0 = Listening(channel: channel, settings: settings) }
            } catch {
                applied.refusal = "\(error)"
                return applied
            }
            applied.rebound = true
        } else {
            listening.withLock { $0?.settings = settings }
        }
        let before = services.current.settings
        applied.accessChanged =
            before.username != settings.username || before.password != settings.password
            || before.whitelist != settings.whitelist || before.webDirectory != settings.webDirectory
        services.update(settings)
        return applied
    }

    /// Listens as `settings` say and closes `old`'s socket: the new one bound first, else (the same port
    /// on another address of the host may not be bound twice) after the old one is closed, which is bound
    /// again when the new one cannot be.
    private func rebind(from old: Listening, to settings: RPCSettings) async throws -> any Channel {
        if let channel = try? await bind(settings) {
            try? await old.channel.close()
            return channel
        }
        try? await old.channel.close()
        do {
            return try await bind(settings)
        } catch {
            if let again = try? await bind(old.settings) {
                listening.withLock { $0 = Listening(channel: again, settings: old.settings) }
            } else {
                listening.withLock { $0 = nil }
            }
            throw error
        }
    }

    private func bind(_ settings: RPCSettings) async throws -> any Channel {
        let services = self.services
        let open = self.open
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
        do {
            return try await bootstrap.bind(host: settings.bindAddress, port: settings.port).get()
        } catch {
            throw StartError(description: "cannot listen on \(settings.bindAddress):\(settings.port): \(error)")
        }
    }

    /// Stops accepting connections.
    public func close() async {
        let channel = listening.withLock { state -> (any Channel)? in
            defer { state = nil }
            return state?.channel
        }
        try? await channel?.close()
    }
}

/// The connections the server holds open.
private final class ConnectionCount: Sendable {
    let value = Mutex(0)
}
