import NIOCore

#if TLS
import NIOSSL
#endif

/// A TLS client configuration built once from ``TLSClientSettings`` and shared by every connection
/// (trackers, web seeds). ``addClientHandler(to:host:)`` puts TLS onto a freshly connected channel;
/// ``describing(_:host:)`` turns what the handshake threw into a ``TLSError``.
///
/// A build without the `TLS` package trait (only the fuzz targets are built so) has no TLS library:
/// there ``TLSClientSettings/makeContext()`` fails with ``TLSError/unavailable``, so `https://` is
/// refused in words and everything else works.
public struct TLSClientContext: Sendable {
    #if TLS
    let context: NIOSSLContext

    init(context: NIOSSLContext) { self.context = context }
    #endif

    /// Adds the TLS client handler first in `pipeline`: SNI with `host` unless it is an IP address
    /// literal (SNI forbids those), and the certificate verified for `host` (its DNS name, or for an
    /// address, an IP subjectAltName). Call on the channel's event loop, before the handlers that speak
    /// the protocol over TLS.
    ///
    /// - Throws: ``TLSError`` when `host` cannot be a server name.
    public func addClientHandler(to pipeline: ChannelPipeline.SynchronousOperations, host: String) throws {
        #if TLS
        try addNIOSSLHandler(to: pipeline, host: host)
        #else
        throw TLSError.unavailable
        #endif
    }

    #if TLS
    private func addNIOSSLHandler(to pipeline: ChannelPipeline.SynchronousOperations, host: String) throws {
        let serverName = Self.isAddressLiteral(host) ? nil : host
        let handler: NIOSSLClientHandler
        do {
            handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
        } catch {
            throw Self.describing(error, host: host) ?? TLSError.handshakeFailed(host: host, detail: "bad server name")
        }
        try pipeline.addHandler(handler, position: .first)
    }
    #endif

    /// Closes `channel` at once, without the TLS shutdown exchange when it runs TLS: a graceful close
    /// keeps reading (and decrypting) what the server sends while it waits for its `close_notify`, which
    /// a hostile server never sends while it floods. Use it whenever a connection is given up on, and
    /// after a complete response. Safe from any thread; a channel without TLS is simply closed.
    public static func closeAbruptly(_ channel: any Channel) {
        if channel.eventLoop.inEventLoop {
            closeOnLoop(channel)
        } else {
            channel.eventLoop.execute { closeOnLoop(channel) }
        }
    }

    private static func closeOnLoop(_ channel: any Channel) {
        #if TLS
        // Closing from the TLS handler's own context goes to the handlers before it (the socket),
        // skipping its shutdown.
        if let tls = try? channel.pipeline.syncOperations.context(handlerType: NIOSSLClientHandler.self) {
            tls.close(promise: nil)
            return
        }
        #endif
        channel.close(promise: nil)
    }

    /// The ``TLSError`` that `error` (thrown on a channel set up by ``addClientHandler(to:host:)``)
    /// stands for, or `nil` when it is not a TLS error (a reset connection, a timeout...).
    public static func describing(_ error: any Error, host: String) -> TLSError? {
        if let error = error as? TLSError { return error }
        #if TLS
        return describingNIOSSL(error, host: host)
        #else
        return nil
        #endif
    }

    #if TLS
    private static func describingNIOSSL(_ error: any Error, host: String) -> TLSError? {
        switch error {
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return .nameMismatch(host: host)
        case let error as NIOSSLExtraError:
            return .handshakeFailed(host: host, detail: "\(error)")
        case NIOSSLError.handshakeFailed(let reason):
            if "\(reason)".contains("CERTIFICATE_VERIFY_FAILED") { return .untrustedCertificate(host: host) }
            return .handshakeFailed(host: host, detail: shortReason(reason))
        case NIOSSLError.uncleanShutdown:
            return .handshakeFailed(host: host, detail: "the server closed the connection during TLS")
        case let error as NIOSSLError:
            return .handshakeFailed(host: host, detail: "\(error)")
        default:
            return nil
        }
    }

    /// The reason names of a BoringSSL error stack (`WRONG_VERSION_NUMBER`...), without its codes and
    /// source locations.
    private static func shortReason(_ error: BoringSSLError) -> String {
        let text = "\(error)"
        let names = text.split(whereSeparator: { !($0.isUppercase || $0 == "_" || $0.isNumber) })
            .filter { $0.count > 3 && $0.contains("_") }
        return names.isEmpty ? "protocol error" : Set(names).sorted().joined(separator: ", ").lowercased()
    }
    #endif

    /// True when `host` is an IPv4 or IPv6 address rather than a name.
    static func isAddressLiteral(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
