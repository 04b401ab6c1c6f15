/// The limits of a torrent's web seeds.
public struct WebSeedConfiguration: Hashable, Sendable {
    /// Connections to each web seed at once (`web_seed_connections`).
    public var connections: Int
    /// Bound on resolving the host and opening a connection.
    public var connectTimeout: Duration
    /// Bound on the wait for the first byte of a response, and between any two reads of it.
    public var stallTimeout: Duration
    /// The most bytes asked of a web seed in one go (whole pieces when they fit).
    public var maxRequestBytes: Int
    /// The most bytes of a response head.
    public var maxHeadBytes: Int
    /// Redirects followed for one request.
    public var maxRedirects: Int
    /// The rest after failures, and when to give up.
    public var backoff: WebSeedBackoff
    /// The `User-Agent` header.
    public var userAgent: String
    /// What `https://` web seeds are trusted by (`tls_ca_file` besides the system's store).
    public var tls: TLSClientSettings

    /// The default number of connections per web seed.
    public static let defaultConnections = 2
    /// The most connections per web seed a setting may ask for.
    public static let maxConnections = 16
    /// The most web seeds of one torrent used (the first of its list); the rest are ignored.
    public static let maxWebSeeds = 16

    /// Defaults that suit public web servers.
    public init(
        connections: Int = WebSeedConfiguration.defaultConnections, connectTimeout: Duration = .seconds(10),
        stallTimeout: Duration = .seconds(20), maxRequestBytes: Int = 4 << 20, maxHeadBytes: Int = 16 << 10,
        maxRedirects: Int = 3, backoff: WebSeedBackoff = WebSeedBackoff(), userAgent: String = "btq/0.1.0",
        tls: TLSClientSettings = .init()
    ) {
        self.connections = min(max(connections, 1), Self.maxConnections)
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.maxRequestBytes = maxRequestBytes
        self.maxHeadBytes = maxHeadBytes
        self.maxRedirects = maxRedirects
        self.backoff = backoff
        self.userAgent = userAgent
        self.tls = tls
    }
}
