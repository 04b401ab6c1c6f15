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
/// One instance serves every torrent of a session (the UDP socket and its connection ids are shared).
/// Call ``shutdown()`` when done.
public struct TrackerClient: TrackerTransport {
    /// The HTTP side.
    public let http: HTTPTrackerClient
    /// The UDP side.
    public let udp: UDPTrackerClient

    /// A client whose sockets run on `group`, trusting what `tls` says for `https://` trackers.
    public init(
        group: any EventLoopGroup, http: HTTPTrackerClient.Configuration = .init(),
        udp: UDPTrackerClient.Configuration = .init(), tls: TLSClientSettings = .init()
    ) {
        self.http = HTTPTrackerClient(group: group, configuration: http, tls: tls)
        self.udp = UDPTrackerClient(group: group, configuration: udp)
    }

    /// Announces over the transport `url` names.
    public func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse {
        switch try TrackerURL(parsing: url).scheme {
        case .http, .https: return try await http.announce(url: url, request: request)
        case .udp: return try await udp.announce(url: url, request: request)
        }
    }

    /// Scrapes over the transport `url` names.
    public func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult {
        switch try TrackerURL(parsing: url).scheme {
        case .http, .https: return try await http.scrape(url: url, infoHash: infoHash)
        case .udp: return try await udp.scrape(url: url, infoHash: infoHash)
        }
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
