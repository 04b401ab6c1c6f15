/// What was learned about one peer of one torrent since the previous flush; merged into the peer history.
package struct PeerUpdate: Hashable, Sendable {
    /// Where a peer's address came from.
    package struct Source: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral {
        /// The stored name.
        package let rawValue: String
        /// Wraps a stored name.
        package init(rawValue: String) { self.rawValue = rawValue }
        /// Wraps a string literal.
        package init(stringLiteral value: String) { self.rawValue = value }

        /// A tracker announce.
        package static let tracker: Source = "tracker"
        /// The DHT.
        package static let dht: Source = "dht"
        /// Peer exchange.
        package static let pex: Source = "pex"
        /// Local service discovery.
        package static let lsd: Source = "lsd"
        /// The peer connected to us.
        package static let incoming: Source = "incoming"
        /// A magnet link's `x.pe`.
        package static let magnet: Source = "magnet"
        /// Given by the user.
        package static let manual: Source = "manual"
        /// A web seed (BEP 19): the record's address is the seed's URL.
        package static let webSeed: Source = "web-seed"
    }

    /// The torrent.
    package var torrentId: Int64
    /// IPv4 dotted quad or IPv6 text form without brackets.
    package var address: String
    /// TCP/UDP port, 1...65535.
    package var port: Int
    /// The 20-byte peer id from its handshake, when known.
    package var peerId: [UInt8]?
    /// Client name decoded from the peer id or the extension handshake, when known.
    package var client: String?
    /// Where the address came from (kept from the first sighting).
    package var source: Source
    /// When the peer was last seen (connected, or listed by a source).
    package var seenAt: Timestamp
    /// Payload bytes received from it since the previous flush.
    package var downloadedDelta: Int64
    /// Payload bytes sent to it since the previous flush.
    package var uploadedDelta: Int64
    /// Pieces it contributed to that failed their hash check, since the previous flush.
    package var hashFailuresDelta: Int
    /// `true` to ban it, `false` to lift a ban, `nil` to leave the ban as it is.
    package var banned: Bool?
    /// How it is connected (`tcp`, `tcp+rc4`, `tcp+plain-mse`), when it is; `nil` leaves the stored one.
    package var transport: String?

    /// Creates an update.
    package init(
        torrentId: Int64, address: String, port: Int, peerId: [UInt8]? = nil, client: String? = nil,
        source: Source, seenAt: Timestamp = .now, downloadedDelta: Int64 = 0, uploadedDelta: Int64 = 0,
        hashFailuresDelta: Int = 0, banned: Bool? = nil, transport: String? = nil
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
        self.transport = transport
    }
}
