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
    ///
    /// Works on the UTF-8 bytes (every byte accepted is printable ASCII): a daemon parses its trackers'
    /// URLs at each announce and scrape, and the `String` searches this replaced cost 30 µs a URL.
    init(parsing text: String) throws(TrackerError) {
        let unsupported = TrackerError.unsupportedURL(String(text.prefix(200)))
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maxLength, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw unsupported }
        // A scheme has no colon: its end is the first one, and "//" follows it. (Foundation's generic
        // `firstRange(of:)` that a search for "://" resolves to cost more than the rest of the parse.)
        guard let schemeEnd = bytes.firstIndex(of: UInt8(ascii: ":")),
            bytes[(schemeEnd + 1)...].starts(with: "//".utf8)
        else { throw unsupported }
        let schemeName = String(decoding: bytes[..<schemeEnd].map { Self.lowercased($0) }, as: UTF8.self)
        guard let scheme = Scheme(rawValue: schemeName) else { throw unsupported }
        var rest = bytes[(schemeEnd + 3)...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        let authorityEnd =
            rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(decoding: rest[authorityEnd...], as: UTF8.self)
        if target.isEmpty || target.utf8.first == UInt8(ascii: "?") { target = "/" + target }
        guard !authority.contains(UInt8(ascii: "@")), let (host, port) = Self.splitAuthority(authority) else {
            throw unsupported
        }
        guard let port = port ?? scheme.defaultPort else { throw unsupported }
        self.port = port
        self.scheme = scheme
        self.host = host
        self.target = target
    }

    /// An ASCII letter in lower case; any other byte as it is.
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// Splits `host[:port]` or `[v6][:port]` (printable ASCII bytes); `nil` when malformed. The port is
    /// `nil` when absent.
    private static func splitAuthority(_ authority: ArraySlice<UInt8>) -> (String, Int?)? {
        let host: ArraySlice<UInt8>
        let portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[(authority.startIndex + 1)..<close]
            let after = authority[(close + 1)...]
            if after.isEmpty {
                portText = nil
            } else {
                guard after.first == UInt8(ascii: ":") else { return nil }
                portText = after.dropFirst()
            }
            guard PeerAddress.parseIPv6(String(decoding: host, as: UTF8.self)) != nil else { return nil }
        } else {
            if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
                host = authority[..<colon]
                portText = authority[(colon + 1)...]
            } else {
                host = authority
                portText = nil
            }
            guard
                !host.contains(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") })
            else { return nil }
        }
        guard !host.isEmpty else { return nil }
        let hostName = String(decoding: host, as: UTF8.self)
        guard let portText else { return (hostName, nil) }
        guard !portText.isEmpty, portText.count <= 5,
            portText.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let port = Int(String(decoding: portText, as: UTF8.self)), (1...65535).contains(port)
        else { return nil }
        return (hostName, port)
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
