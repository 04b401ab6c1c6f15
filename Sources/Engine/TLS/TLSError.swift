/// Why a TLS connection (or the TLS settings) failed, in words a user understands. Built from
/// swift-nio-ssl's errors by ``TLSError/describing(_:host:)``, so no raw BoringSSL dump reaches the user.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case caFileUnreadable(path: String, reason: String)
        case caFileInvalid(path: String)
        case untrustedCertificate(host: String)
        case nameMismatch(host: String)
        case handshakeFailed(host: String, detail: String)
        case setup(String)
        case unavailable
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// The extra CA file cannot be read (missing, not a regular file, too large).
    public static func caFileUnreadable(_ path: String, reason: String) -> TLSError {
        .init(.caFileUnreadable(path: path, reason: reason))
    }
    /// The extra CA file holds no PEM certificate.
    public static func caFileInvalid(_ path: String) -> TLSError { .init(.caFileInvalid(path: path)) }
    /// The server's certificate chain does not lead to a trusted authority (or is expired, or malformed).
    public static func untrustedCertificate(host: String) -> TLSError { .init(.untrustedCertificate(host: host)) }
    /// The server's certificate is trusted but made out for another name.
    public static func nameMismatch(host: String) -> TLSError { .init(.nameMismatch(host: host)) }
    /// The handshake failed for another reason (no common protocol version, the server hung up...).
    public static func handshakeFailed(host: String, detail: String) -> TLSError {
        .init(.handshakeFailed(host: host, detail: String(detail.prefix(200))))
    }
    /// The TLS library refused the configuration.
    public static func setup(_ detail: String) -> TLSError { .init(.setup(String(detail.prefix(200)))) }

    /// This build of btq has no TLS library (built without the `TLS` package trait).
    public static let unavailable = TLSError(.unavailable)

    /// True for the errors of the local settings (the CA file), which retrying cannot fix.
    public var isSettingsError: Bool {
        switch kind {
        case .caFileUnreadable, .caFileInvalid, .setup, .unavailable: return true
        case .untrustedCertificate, .nameMismatch, .handshakeFailed: return false
        }
    }

    /// One line for the user and the database.
    public var description: String {
        switch kind {
        case .caFileUnreadable(let path, let reason):
            return "cannot read the CA file \(path): \(reason)"
        case .caFileInvalid(let path):
            return "the CA file \(path) holds no PEM certificate"
        case .untrustedCertificate(let host):
            return "the certificate of \(host) is not trusted (not signed by a known authority, or expired; "
                + "a private CA can be added with tls_ca_file)"
        case .nameMismatch(let host):
            return "the certificate of \(host) is made out for another name"
        case .handshakeFailed(let host, let detail):
            return "TLS handshake with \(host) failed: \(detail)"
        case .setup(let detail):
            return "cannot set up TLS: \(detail)"
        case .unavailable:
            return "this build of btq has no TLS (built without the TLS package trait)"
        }
    }
}
