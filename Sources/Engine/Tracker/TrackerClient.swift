import NIOCore

/// Something that can announce to and scrape a tracker by URL; ``TrackerAnnouncer`` drives one, and
/// tests substitute a fake.
public protocol TrackerTransport: Sendable {
    /// Announces `request` to the tracker at `url`. Throws ``TrackerError`` (or `CancellationError`).
    func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse
    /// Scrapes one torrent from the tracker whose announce URL is `url`. Throws ``TrackerError``.
    func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult
}

/// The tracker client of a session: dispatches on the URL scheme to an ``HTTPTrackerClient``
/// (`http://` and `https://`) or a shared ``UDPTrackerClient`` (`udp://`). Any other scheme fails
/// with ``TrackerError/unsupportedURL(_:)``.
///
/// One instance serves every torrent of a process (the UDP socket and its connection ids are shared),
/// and gathers their scrapes of one tracker into multi-hash requests (``ScrapeBatcher``).
/// Call ``shutdown()`` when done.
public struct TrackerClient: TrackerTransport {
    /// The HTTP side.
    public let http: HTTPTrackerClient
    /// The UDP side.
    public let udp: UDPTrackerClient
    /// Gathers scrapes into multi-hash requests.
    let scrapes: ScrapeBatcher

    /// Most hashes in one HTTP scrape (opentracker answers up to 64; a longer query may be refused).
    public static let maxHTTPScrapeHashes = 64

    /// A client whose sockets run on `group`, trusting what `tls` says for `https://` trackers; the
    /// scrapes of one tracker asked within `scrapeGather` of each other go in one request.
    public init(
        group: any EventLoopGroup, http: HTTPTrackerClient.Configuration = .init(),
        udp: UDPTrackerClient.Configuration = .init(), tls: TLSClientSettings = .init(),
        scrapeGather: Duration = .seconds(5)
    ) {
        let http = HTTPTrackerClient(group: group, configuration: http, tls: tls)
        let udp = UDPTrackerClient(group: group, configuration: udp)
        self.http = http
        self.udp = udp
        self.scrapes = ScrapeBatcher(eventLoop: group.next(), configuration: .init(gather: scrapeGather)) {
            url, hashes in
            switch try TrackerURL(parsing: url).scheme {
            case .http, .https: return try await http.scrape(url: url, infoHashes: hashes)
            case .udp:
                let results = try await udp.scrape(url: url, infoHashes: hashes)
                return Dictionary(zip(hashes, results), uniquingKeysWith: { first, _ in first })
            }
        }
    }

    /// Announces over the transport `url` names.
    public func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse {
        switch try TrackerURL(parsing: url).scheme {
        case .http, .https: return try await http.announce(url: url, request: request)
        case .udp: return try await udp.announce(url: url, request: request)
        }
    }

    /// Scrapes over the transport `url` names, in a batch with the other torrents' scrapes of that
    /// tracker (at most ``maxHTTPScrapeHashes`` over HTTP, ``UDPTrackerMessage/maxScrapeHashes`` over
    /// UDP). An HTTP tracker without a scrape URL fails at once with ``TrackerError/unsupportedURL(_:)``.
    public func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult {
        precondition(infoHash.count == 20, "an info-hash has 20 bytes")
        let most: Int
        switch try TrackerURL(parsing: url).scheme {
        case .http, .https:
            guard HTTPTrackerResponse.scrapeURL(announce: url) != nil else { throw TrackerError.unsupportedURL(url) }
            most = Self.maxHTTPScrapeHashes
        case .udp:
            most = UDPTrackerMessage.maxScrapeHashes
        }
        return try await scrapes.scrape(url: url, infoHash: infoHash, most: most)
    }

    /// True when btq can announce to `url` (`http://`, `https://` or `udp://`, well formed).
    public static func supports(_ url: String) -> Bool {
        (try? TrackerURL(parsing: url)) != nil
    }

    /// True when btq can scrape the tracker announced to at `url`: every `udp://` tracker (BEP 15), and
    /// an `http://` or `https://` tracker whose announce URL has a scrape URL (BEP 48: last path element `announce…`).
    public static func canScrape(_ url: String) -> Bool {
        guard let parsed = try? TrackerURL(parsing: url) else { return false }
        switch parsed.scheme {
        case .udp: return true
        case .http, .https: return HTTPTrackerResponse.scrapeURL(announce: url) != nil
        }
    }

    /// Closes the UDP sockets. HTTP connections close by themselves after each request.
    public func shutdown() async {
        await udp.close()
    }
}
