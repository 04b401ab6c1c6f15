/// Why an announce or scrape failed. Every tracker reply is hostile input: anything malformed ends
/// here rather than in a crash.
public struct TrackerError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case failure(String)
        case malformed(String)
        case httpStatus(Int)
        case tooLarge(Int)
        case timedOut
        case connection(String)
        case unsupportedURL(String)
        case tls(TLSError)
        case insecureRedirect(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// The tracker refused with a `failure reason` (or a UDP error message).
    public static func failure(_ reason: String) -> TrackerError { .init(.failure(reason)) }
    /// The reply broke the protocol.
    public static func malformed(_ detail: String) -> TrackerError { .init(.malformed(detail)) }
    /// An HTTP status other than 200.
    public static func httpStatus(_ status: Int) -> TrackerError { .init(.httpStatus(status)) }
    /// The reply exceeded the size limit.
    public static func tooLarge(limit: Int) -> TrackerError { .init(.tooLarge(limit)) }
    /// No answer in time (after BEP 15 retransmissions for UDP).
    public static let timedOut = TrackerError(.timedOut)
    /// The connection failed.
    public static func connection(_ detail: String) -> TrackerError { .init(.connection(detail)) }
    /// A URL btq cannot announce to.
    public static func unsupportedURL(_ url: String) -> TrackerError { .init(.unsupportedURL(url)) }

    /// The TLS connection to an `https://` tracker failed (untrusted certificate, wrong name...), or
    /// the TLS settings are unusable.
    public static func tls(_ error: TLSError) -> TrackerError { .init(.tls(error)) }
    /// An `https://` tracker redirected to a plain `http://` URL, which btq refuses.
    public static func insecureRedirect(_ url: String) -> TrackerError {
        .init(.insecureRedirect(String(url.prefix(200))))
    }

    /// The TLS failure behind this error, else `nil`.
    public var tlsError: TLSError? {
        if case .tls(let error) = kind { return error }
        return nil
    }

    /// The tracker's own words when it refused, else `nil`.
    public var failureReason: String? {
        if case .failure(let reason) = kind { return reason }
        return nil
    }

    /// True when btq cannot use the URL at all (nor scrape it): trying again cannot help.
    public var isUnsupportedURL: Bool {
        if case .unsupportedURL = kind { return true }
        return false
    }

    /// A scrape reply that does not mention the torrent asked (one the tracker does not know).
    public static var notInScrapeReply: TrackerError { .malformed("scrape reply does not mention the torrent") }

    /// True for HTTP 400, 413 and 414: the tracker may have refused the request for its size (a
    /// multi-hash scrape's query too long).
    var isRequestTooLarge: Bool {
        if case .httpStatus(let status) = kind { return [400, 413, 414].contains(status) }
        return false
    }

    /// True when trying again later may help (network trouble), false when the tracker said no.
    public var isTransient: Bool {
        switch kind {
        case .timedOut, .connection, .httpStatus: return true
        case .tls(let error): return !error.isSettingsError
        case .failure, .malformed, .tooLarge, .unsupportedURL, .insecureRedirect: return false
        }
    }

    /// One line for the user and the database.
    public var description: String {
        switch kind {
        case .failure(let reason): return "tracker refused: \(reason)"
        case .malformed(let detail): return "malformed tracker reply: \(detail)"
        case .httpStatus(let status): return "tracker answered HTTP \(status)"
        case .tooLarge(let limit): return "tracker reply larger than \(limit) bytes"
        case .timedOut: return "tracker did not answer"
        case .connection(let detail): return "cannot reach tracker: \(detail)"
        case .unsupportedURL(let url): return "unsupported tracker URL: \(url)"
        case .tls(let error): return "tracker TLS failed: \(error)"
        case .insecureRedirect(let url): return "tracker redirected from https to plain http (refused): \(url)"
        }
    }
}
