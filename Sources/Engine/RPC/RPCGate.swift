import Foundation

/// Who may talk to the RPC server, decided from a request's head alone (before its body is read): the
/// `Host` header against DNS rebinding, HTTP basic authentication, and Transmission's
/// `X-Transmission-Session-Id` handshake against cross-site requests. A value: the HTTP handler asks it
/// and sends what it answers.
public struct RPCGate: Sendable {
    /// What to do with a request.
    public enum Decision: Sendable, Hashable {
        /// Serve it.
        case allow
        /// Answer with this status, message and extra headers, and read nothing more of it.
        case reject(status: Int, message: String, headers: [String: String])
    }

    /// The header that carries the session id.
    public static let sessionHeader = "X-Transmission-Session-Id"

    /// The current session id (random, made at start).
    public let sessionID: String
    private let settings: RPCSettings

    public init(settings: RPCSettings, sessionID: String = RPCGate.freshSessionID()) {
        self.settings = settings
        self.sessionID = sessionID
    }

    /// 48 random letters and digits, as Transmission's ids look.
    public static func freshSessionID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<48).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The decision for a request with these headers; `needsSession` for the RPC endpoint (the web
    /// interface's files and the metrics need no session id).
    public func decide(
        host: String?, authorization: String?, sessionID given: String?, needsSession: Bool
    )
        -> Decision
    {
        if let refusal = checkHost(host) { return refusal }
        if let password = settings.password, !authorized(authorization, password) {
            return .reject(
                status: 401, message: "401: Unauthorized. The user name and password are wrong or missing.",
                headers: ["WWW-Authenticate": "Basic realm=\"btq\""])
        }
        if needsSession, given != sessionID {
            return .reject(
                status: 409,
                message:
                    "409: Conflict. Send the header \(Self.sessionHeader): \(sessionID) (a new one after every restart).",
                headers: [Self.sessionHeader: sessionID])
        }
        return .allow
    }

    private func checkHost(_ header: String?) -> Decision? {
        guard let header, !header.isEmpty else {
            return .reject(status: 421, message: "421: Misdirected Request. The request names no Host.", headers: [:])
        }
        let host = Self.hostName(header).lowercased()
        if Self.isAddress(host) || host == "localhost" || host == "localhost." { return nil }
        for pattern in settings.whitelist where Self.matches(host, pattern.lowercased()) { return nil }
        return .reject(
            status: 421,
            message: """
                421: Misdirected Request. btq does not answer requests for the host name '\(host)' (a protection \
                against DNS rebinding); add it with `btq config set rpc_whitelist \(host)`, or use the address.
                """, headers: [:])
    }

    private func authorized(_ header: String?, _ password: RPCPassword) -> Bool {
        guard let header, header.count < 4096 else { return false }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return false }
        let user = String(text[..<colon])
        let given = String(text[text.index(after: colon)...])
        let passwordMatches = password.matches(given)
        return passwordMatches && (settings.username.isEmpty || user == settings.username)
    }

    /// The host of a `Host` header, without its port (`[::1]:9091` is `::1`).
    static func hostName(_ header: String) -> String {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("["), let end = trimmed.firstIndex(of: "]") {
            return String(trimmed[trimmed.index(after: trimmed.startIndex)..<end])
        }
        if let colon = trimmed.lastIndex(of: ":"), trimmed.firstIndex(of: ":") == colon {
            return String(trimmed[..<colon])
        }
        return trimmed
    }

    private static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// `pattern` is a name, or `*.example.org` for its subdomains, or `*` for any name.
    private static func matches(_ host: String, _ pattern: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst()) }
        return host == pattern
    }
}
