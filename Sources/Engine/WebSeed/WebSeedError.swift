/// Why a request to a web seed (BEP 19) failed. Every answer of a web server is hostile input: anything
/// that is not exactly the bytes asked for ends here rather than in a crash or an unbounded read.
public enum WebSeedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A URL btq cannot fetch from (a scheme other than `http`, until TLS is built; malformed).
    case unsupportedURL(String)
    /// The connection could not be opened, or broke.
    case connection(String)
    /// No connection, no first byte, or no next byte in time.
    case timedOut(String)
    /// A status that says the file is not there (404, 403, ...): retried later like any failure.
    case httpStatus(Int)
    /// The server is busy (503, 429, 5xx); `retryAfter` is its `Retry-After`, clamped.
    case unavailable(status: Int, retryAfter: Duration?)
    /// A `206` whose `Content-Range` or `Content-Length` is not the range asked for.
    case wrongRange(String)
    /// A `200` with the whole file for a range that does not start at its first byte.
    case ignoresRange
    /// More body bytes than the range asked for.
    case tooLong
    /// The response ended before the bytes asked for.
    case truncated
    /// A redirect without a usable `Location`, or more redirects than allowed.
    case badRedirect(String)
    /// The response head is larger than allowed, or the HTTP parser refused the response.
    case malformed(String)

    /// Whether the web seed may be asked again after a back-off (every error but an unusable URL).
    public var isRetryable: Bool {
        if case .unsupportedURL = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .unsupportedURL(let url): "unsupported URL \(url)"
        case .connection(let detail): "connection failed: \(detail)"
        case .timedOut(let what): "timed out \(what)"
        case .httpStatus(let status): "HTTP status \(status)"
        case .unavailable(let status, let retryAfter):
            "HTTP status \(status)" + (retryAfter.map { ", retry after \($0.components.seconds) s" } ?? "")
        case .wrongRange(let detail): "wrong range in the response: \(detail)"
        case .ignoresRange: "the server ignores Range (answered 200 with the whole file)"
        case .tooLong: "the response body is longer than the range asked for"
        case .truncated: "the response ended before the range asked for"
        case .badRedirect(let detail): "bad redirect: \(detail)"
        case .malformed(let detail): "malformed response: \(detail)"
        }
    }
}
