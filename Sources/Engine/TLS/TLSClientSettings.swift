import Foundation

#if TLS
import NIOSSL
#endif

/// What a TLS client trusts: the system's trust store, plus the certificates of an extra CA file
/// (PEM) when one is set. Independent of what runs over the connection (trackers, web seeds).
///
/// Build it once into a ``TLSClientContext`` with ``makeContext()`` and reuse that for every
/// connection: loading trust roots is the expensive part.
public struct TLSClientSettings: Hashable, Sendable {
    /// The largest CA file read (a bundle of a few hundred certificates fits easily).
    public static let maxCAFileLength = 1 << 20

    /// A PEM file of certificates trusted in addition to the system's, or `nil`.
    public var extraCAFile: String?

    /// Settings that trust the system's store, and `extraCAFile` when given (empty counts as none).
    public init(extraCAFile: String? = nil) {
        self.extraCAFile = extraCAFile.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Reads the CA file (bounded to ``maxCAFileLength`` bytes) and builds the context: certificate
    /// verification against the trust roots and host-name verification on, TLS 1.2 at least.
    ///
    /// - Throws: ``TLSError`` when the CA file is missing, unreadable, too large or holds no PEM
    ///   certificate, or when the TLS library refuses the configuration.
    public func makeContext() throws(TLSError) -> TLSClientContext {
        #if TLS
        try makeNIOSSLContext()
        #else
        throw .unavailable
        #endif
    }

    #if TLS
    private func makeNIOSSLContext() throws(TLSError) -> TLSClientContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .default
        // A close that waits for the server's close_notify reads what it sends meanwhile: keep it short
        // (TLSClientContext.closeAbruptly skips it altogether).
        configuration.shutdownTimeout = .seconds(1)
        if let extraCAFile {
            configuration.additionalTrustRoots = [.certificates(try Self.loadCertificates(extraCAFile))]
        }
        do {
            return TLSClientContext(context: try NIOSSLContext(configuration: configuration))
        } catch {
            throw .setup(String(describing: error))
        }
    }

    /// The certificates of the PEM file at `path`.
    static func loadCertificates(_ path: String) throws(TLSError) -> [NIOSSLCertificate] {
        let bytes = try readBounded(path)
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes), !certificates.isEmpty else {
            throw .caFileInvalid(path)
        }
        return certificates
    }
    #endif

    /// The bytes of the regular file at `path`, refused when larger than ``maxCAFileLength``.
    private static func readBounded(_ path: String) throws(TLSError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw .caFileUnreadable(path, reason: exists ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }
        let data: Data?
        do {
            data = try handle.read(upToCount: maxCAFileLength + 1)
        } catch {
            throw .caFileUnreadable(path, reason: "not a readable file")
        }
        let bytes = [UInt8](data ?? Data())
        guard bytes.count <= maxCAFileLength else {
            throw .caFileUnreadable(path, reason: "larger than \(maxCAFileLength) bytes")
        }
        return bytes
    }
}

extension TLSClientSettings {
    /// The context of these settings, built at the first call in this process and reused by every
    /// later one (its error too: a CA file that cannot be used stays so until the next start), for
    /// clients that open connections from many places, as web seeds do.
    public func sharedContext() throws(TLSError) -> TLSClientContext {
        try TLSContextCache.shared.context(for: self).get()
    }
}

/// The contexts built by ``TLSClientSettings/sharedContext()``, one per settings value.
private final class TLSContextCache: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `built` is only touched with `lock` held.
    static let shared = TLSContextCache()
    private let lock = NSLock()
    private var built: [TLSClientSettings: Result<TLSClientContext, TLSError>] = [:]

    func context(for settings: TLSClientSettings) -> Result<TLSClientContext, TLSError> {
        lock.withLock {
            if let known = built[settings] { return known }
            let made = Result { () throws(TLSError) in try settings.makeContext() }
            built[settings] = made
            return made
        }
    }
}
