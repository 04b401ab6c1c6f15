/// What was learned about one peer of one torrent since the previous flush; merged into the peer history.
public struct PeerUpdate: Hashable, Sendable {
    /// Where a peer's address came from.
    public struct Source: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral {
        /// The stored name.
        public let rawValue: String
        /// Wraps a stored name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Wraps a string literal.
        public init(stringLiteral value: String) { self.rawValue = value }

        /// A tracker announce.
        public static let tracker: Source = "tracker"
        /// The DHT.
        public static let dht: Source = "dht"
        /// Peer exchange.
        public static let pex: Source = "pex"
        /// Local service discovery.
        public static let lsd: Source = "lsd"
        /// The peer connected to us.
        public static let incoming: Source = "incoming"
        /// A magnet link's `x.pe`.
        public static let magnet: Source = "magnet"
        /// Given by the user.
        public static let manual: Source = "manual"
    }

    /// The torrent.
    public var torrentId: Int64
    /// IPv4 dotted quad or IPv6 text form without brackets.
    public var address: String
    /// TCP/UDP port, 1...65535.
    public var port: Int
    /// The 20-byte peer id from its handshake, when known.
    public var peerId: [UInt8]?
    /// Client name decoded from the peer id or the extension handshake, when known.
    public var client: String?
    /// Where the address came from (kept from the first sighting).
    public var source: Source
    /// When the peer was last seen (connected, or listed by a source).
    public var seenAt: Timestamp
    /// Payload bytes received from it since the previous flush.
    public var downloadedDelta: Int64
    /// Payload bytes sent to it since the previous flush.
    public var uploadedDelta: Int64
    /// Pieces it contributed to that failed their hash check, since the previous flush.
    public var hashFailuresDelta: Int
    /// `true` to ban it, `false` to lift a ban, `nil` to leave the ban as it is.
    public var banned: Bool?

    /// Creates an update.
    public init(
        torrentId: Int64, address: String, port: Int, peerId: [UInt8]? = nil, client: String? = nil,
        source: Source, seenAt: Timestamp = .now, downloadedDelta: Int64 = 0, uploadedDelta: Int64 = 0,
        hashFailuresDelta: Int = 0, banned: Bool? = nil
    ) {
        self.torrentId = torrentId
        self.address = address
        self.port = port
        self.peerId = peerId
        self.client = client
        self.source = source
        self.seenAt = seenAt
        self.downloadedDelta = downloadedDelta
        self.uploadedDelta = uploadedDelta
        self.hashFailuresDelta = hashFailuresDelta
        self.banned = banned
    }
}
