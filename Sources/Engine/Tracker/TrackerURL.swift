/// A tracker address split into the parts a socket needs: `http://host[:port]/path?query`,
/// `https://host[:port]/path?query` or `udp://host:port[/path]`.
///
/// Announce URLs come from torrent files and are hostile input: only printable ASCII without spaces
/// is accepted (nothing can smuggle a header into a request line), user info is refused, and a
/// fragment is dropped. Every other scheme is refused with ``TrackerError/unsupportedURL(_:)``.
struct TrackerURL: Hashable, Sendable, CustomStringConvertible {
    /// The transports btq speaks.
    enum Scheme: String, Hashable, Sendable {
        case http
        case https
        case udp

        /// The port a URL of this scheme means when it names none (`nil`: it must name one).
        var defaultPort: Int? {
            switch self {
            case .http: return 80
            case .https: return 443
            case .udp: return nil
            }
        }
    }

    /// The transport.
    var scheme: Scheme
    /// The host name or address, without the brackets of an IPv6 literal.
    var host: String
    /// The port (80 or 443 when an HTTP or HTTPS URL names none).
    var port: Int
    /// The request target: path and query, starting with `/` (BEP 41 data for UDP, which btq ignores).
    var target: String

    /// Longest URL accepted (opentracker and most HTTP servers refuse longer request lines anyway).
    static let maxLength = 4096

    /// Parses `text`; throws ``TrackerError/unsupportedURL(_:)`` for anything btq cannot announce to.
    init(parsing text: String) throws(TrackerError) {
        let unsupported = TrackerError.unsupportedURL(String(text.prefix(200)))
        guard text.utf8.count <= Self.maxLength, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw unsupported
        }
        guard let schemeEnd = text.range(of: "://") else { throw unsupported }
        guard let scheme = Scheme(rawValue: text[..<schemeEnd.lowerBound].lowercased()) else { throw unsupported }
        var rest = text[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.first == "?" { target = "/" + target }
        guard !authority.contains("@"), let (host, port) = Self.splitAuthority(authority) else { throw unsupported }
        guard let port = port ?? scheme.defaultPort else { throw unsupported }
        self.port = port
        self.scheme = scheme
        self.host = host
        self.target = target
    }

    /// Splits `host[:port]` or `[v6][:port]`; `nil` when malformed. The port is `nil` when absent.
    private static func splitAuthority(_ authority: Substring) -> (String, Int?)? {
        let host: Substring
        let portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else {
                guard after.first == ":" else { return nil }
                portText = after.dropFirst()
            }
            guard PeerAddress.parseIPv6(String(host)) != nil else { return nil }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
                portText = nil
            }
            guard !host.contains(":"), !host.contains("["), !host.contains("]") else { return nil }
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return (String(host), nil) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCII), let port = Int(portText),
            (1...65535).contains(port)
        else { return nil }
        return (String(host), port)
    }

    /// True when ``host`` is an IPv6 literal.
    var isIPv6Literal: Bool { host.contains(":") }

    /// The value of the HTTP `Host` header: the host (bracketed when IPv6) and the port unless it is the
    /// scheme's default.
    var hostHeader: String {
        let name = isIPv6Literal ? "[\(host)]" : host
        return port == scheme.defaultPort ? name : "\(name):\(port)"
    }

    /// True for the schemes HTTP runs over (`http`, `https`).
    var isHTTP: Bool { scheme != .udp }

    /// `scheme://host:port`: identifies one tracker endpoint (UDP connection ids are cached per endpoint).
    var endpoint: String { "\(scheme.rawValue)://\(isIPv6Literal ? "[\(host)]" : host):\(port)" }

    /// The URL again, normalized (lower-case scheme, explicit port, no fragment).
    var description: String { endpoint + target }

    /// Resolves `location` (an absolute URL or an absolute path) against this URL, for redirects.
    func resolving(_ location: String) throws(TrackerError) -> TrackerURL {
        if location.hasPrefix("/") && !location.hasPrefix("//") {
            return try TrackerURL(parsing: endpoint + location)
        }
        return try TrackerURL(parsing: location)
    }
}
