/// What a tracker answered to an announce, for HTTP and UDP alike.
public struct AnnounceResponse: Sendable, Hashable {
    /// Seconds until the next regular announce.
    public var interval: Int
    /// Seconds the tracker wants at least between announces, when it says.
    public var minInterval: Int?
    /// Seeders (`complete`), when reported.
    public var seeders: Int?
    /// Leechers (`incomplete`), when reported.
    public var leechers: Int?
    /// Completed downloads (`downloaded`), when reported.
    public var completed: Int?
    /// Peers, IPv4 and IPv6 together.
    public var peers: [PeerAddress]
    /// Peer ids of non-compact peer lists, by address (lets a client spot itself).
    public var peerIds: [PeerAddress: [UInt8]]
    /// `tracker id`, to echo in later announces.
    public var trackerId: String?
    /// `warning message`: the announce worked, but the tracker has something to say.
    public var warning: String?

    /// True when it carries all a scrape would tell (seeders, leechers and completed downloads, as
    /// opentracker's HTTP announces do): no scrape needs to follow it.
    public var carriesScrapeCounts: Bool { seeders != nil && leechers != nil && completed != nil }

    /// Creates a response.
    public init(
        interval: Int, minInterval: Int? = nil, seeders: Int? = nil, leechers: Int? = nil, completed: Int? = nil,
        peers: [PeerAddress] = [], peerIds: [PeerAddress: [UInt8]] = [:], trackerId: String? = nil,
        warning: String? = nil
    ) {
        self.interval = interval
        self.minInterval = minInterval
        self.seeders = seeders
        self.leechers = leechers
        self.completed = completed
        self.peers = peers
        self.peerIds = peerIds
        self.trackerId = trackerId
        self.warning = warning
    }

    /// Bounds for intervals a tracker may ask for: at least 30 s, at most 6 h (a hostile tracker cannot
    /// make btq hammer it or go silent for days).
    public static let intervalRange = 30...(6 * 3600)

    /// `interval` clamped to ``intervalRange`` and never below `minInterval`.
    public var effectiveInterval: Int {
        let clamped = min(max(interval, Self.intervalRange.lowerBound), Self.intervalRange.upperBound)
        return max(clamped, min(minInterval ?? 0, Self.intervalRange.upperBound))
    }
}

/// Swarm counts for one torrent from a scrape.
public struct ScrapeResult: Sendable, Hashable {
    /// Seeders (`complete`).
    public var seeders: Int
    /// Completed downloads (`downloaded`).
    public var completed: Int
    /// Leechers (`incomplete`).
    public var leechers: Int
    /// Seconds the tracker asks to wait before the next scrape (`flags` → `min_request_interval` of an
    /// HTTP scrape reply, BEP 48), clamped to ``minRequestIntervalRange``; `nil` when it did not say.
    public var minRequestInterval: Int?

    /// The `min_request_interval` btq honours: longer asks are cut to six hours (a hostile tracker
    /// cannot silence the scrapes of a torrent for days).
    public static let minRequestIntervalRange = 0...(6 * 3600)

    /// Creates a result.
    public init(seeders: Int, completed: Int, leechers: Int, minRequestInterval: Int? = nil) {
        self.seeders = seeders
        self.completed = completed
        self.leechers = leechers
        self.minRequestInterval = minRequestInterval
    }
}
