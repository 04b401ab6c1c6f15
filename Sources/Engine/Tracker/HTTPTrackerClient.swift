import NIOCore
import NIOHTTP1
import NIOPosix

/// Announces to and scrapes HTTP and HTTPS trackers: a minimal HTTP/1.1 `GET` over SwiftNIO, one
/// connection per request (`Connection: close`).
///
/// - `https://` runs over TLS from ``TLSClientContext`` (certificates verified against the system's
///   trust store plus the extra CA file of ``TLSClientSettings``, SNI and host name checked); a TLS
///   failure is a ``TrackerError/tls(_:)`` that says what went wrong.
/// - Host names are resolved by NIO's resolver (`getaddrinfo`, happy eyeballs over IPv4 and IPv6).
/// - The connect timeout bounds resolving and connecting; the total timeout bounds the whole request,
///   TLS handshakes and redirects included.
/// - Up to ``Configuration/maxRedirects`` redirects (301, 302, 303, 307, 308) are followed: `http` to
///   `http` or `https`, `https` to `https`. One more fails, and so does `https` to `http`
///   (``TrackerError/insecureRedirect(_:)``): once TLS, always TLS.
/// - The body is limited to ``Configuration/maxBodyLength`` bytes while it streams in.
///
/// Every method throws ``TrackerError``, or `CancellationError` when the calling task is cancelled.
public struct HTTPTrackerClient: Sendable {
    /// Limits and identification.
    public struct Configuration: Sendable {
        /// Bound on resolving the host and opening the connection.
        public var connectTimeout: Duration
        /// Bound on the whole request, redirects included.
        public var totalTimeout: Duration
        /// The `User-Agent` header.
        public var userAgent: String
        /// Longest body accepted.
        public var maxBodyLength: Int
        /// Most redirects followed.
        public var maxRedirects: Int
        /// Most requests (announces and scrapes, over every tracker and torrent) in flight at once; the
        /// others wait their turn in order, and their timeouts start with it. A daemon starting thousands
        /// of torrents thus holds this many connections and buffers, not one per torrent, however slowly
        /// the tracker answers (libtorrent's `max_concurrent_http_announces` is 50 too).
        public var maxConcurrentRequests: Int

        /// Creates a configuration; the defaults suit public trackers.
        public init(
            connectTimeout: Duration = .seconds(15), totalTimeout: Duration = .seconds(30),
            userAgent: String = "btq/0.1.0", maxBodyLength: Int = HTTPTrackerResponse.maxBodyLength,
            maxRedirects: Int = 3, maxConcurrentRequests: Int = 50
        ) {
            precondition(maxConcurrentRequests > 0, "at least one request must be allowed at once")
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.userAgent = userAgent
            self.maxBodyLength = maxBodyLength
            self.maxRedirects = maxRedirects
            self.maxConcurrentRequests = maxConcurrentRequests
        }
    }

    private let group: any EventLoopGroup
    /// The limits in use.
    public let configuration: Configuration
    /// The TLS context of `https://` trackers, built at the first `https://` request and shared (loading
    /// the system's trust roots takes about 0.8 MB, for nothing when no tracker is `https://`); the
    /// settings' error when they are unusable (then every `https://` request fails with it, and
    /// `http://` ones work on).
    private let tls: @Sendable () -> Result<TLSClientContext, TLSError>
    /// The turns of requests in flight (``Configuration/maxConcurrentRequests``), shared by every copy.
    private let turns: TurnGate

    /// A client whose connections run on `group`, trusting what `tls` says for `https://`.
    public init(group: any EventLoopGroup, configuration: Configuration = .init(), tls: TLSClientSettings = .init()) {
        self.init(
            group: group, configuration: configuration,
            tls: { Result { () throws(TLSError) in try tls.sharedContext() } })
    }

    /// A client sharing an already built TLS context (or the error of building it).
    public init(
        group: any EventLoopGroup, configuration: Configuration = .init(),
        tlsContext: Result<TLSClientContext, TLSError>
    ) {
        self.init(group: group, configuration: configuration, tls: { tlsContext })
    }

    private init(
        group: any EventLoopGroup, configuration: Configuration,
        tls: @escaping @Sendable () -> Result<TLSClientContext, TLSError>
    ) {
        self.group = group
        self.configuration = configuration
        self.tls = tls
        self.turns = TurnGate(limit: configuration.maxConcurrentRequests)
    }

    /// Requests waiting for their turn now (for tests).
    var requestsWaiting: Int { turns.waiting }

    /// Announces `request` to the tracker at `url` (the announce URL from the torrent; the announce
    /// parameters are appended after any query it already has).
    public func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse {
        _ = try TrackerURL(parsing: url)
        let body = try await get(request.httpURL(base: url))
        return try HTTPTrackerResponse.announce(body)
    }

    /// Scrapes one torrent from the tracker whose announce URL is `url` (BEP 48: the last path element
    /// `announce` becomes `scrape`); a tracker whose URL does not follow that convention cannot be
    /// scraped and fails with ``TrackerError/unsupportedURL(_:)``.
    public func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult {
        guard let result = try await scrape(url: url, infoHashes: [infoHash])[infoHash] else {
            throw TrackerError.notInScrapeReply
        }
        return result
    }

    /// Scrapes several torrents in one request (BEP 48: `info_hash` once for each, in the order given);
    /// returns the results of those the reply mentions.
    public func scrape(url: String, infoHashes: [[UInt8]]) async throws -> [[UInt8]: ScrapeResult] {
        precondition(!infoHashes.isEmpty && infoHashes.allSatisfy { $0.count == 20 }, "info-hashes of 20 bytes")
        _ = try TrackerURL(parsing: url)
        guard let scrapeURL = HTTPTrackerResponse.scrapeURL(announce: url) else {
            throw TrackerError.unsupportedURL(url)
        }
        let full = AnnounceRequest.append(
            infoHashes.map { ("info_hash", PercentEncoding.encode($0)) }, to: scrapeURL)
        let body = try await get(full)
        return try HTTPTrackerResponse.scrape(body, infoHashes: infoHashes)
    }

    /// Fetches `url` in its turn (``Configuration/maxConcurrentRequests``), following redirects, and
    /// returns the body of the final 200 response.
    func get(_ url: String) async throws -> [UInt8] {
        try await turns.withTurn { try await getNow(url) }
    }

    private func getNow(_ url: String) async throws -> [UInt8] {
        let deadline = NIODeadline.now() + TimeAmount(configuration.totalTimeout)
        var target = try TrackerURL(parsing: url)
        var redirects = 0
        guard target.isHTTP else { throw TrackerError.unsupportedURL(target.description) }
        while true {
            switch try await fetch(target, deadline: deadline) {
            case .body(let body):
                return body
            case .redirect(let status, let location):
                guard redirects < configuration.maxRedirects else { throw TrackerError.httpStatus(status) }
                redirects += 1
                target = try Self.redirect(from: target, to: location)
            }
        }
    }

    /// The URL a redirect from the tracker URL `url` to `location` (the `Location` header, hostile)
    /// leads to, normalized; throws ``TrackerError`` for one btq does not follow (another scheme,
    /// `https` to `http`, a malformed URL).
    public static func redirectTarget(from url: String, location: String) throws(TrackerError) -> String {
        try redirect(from: TrackerURL(parsing: url), to: location).description
    }

    /// Where a redirect from `url` to `location` leads: `http` may go on to `http` or `https`, `https`
    /// only to `https`.
    static func redirect(from url: TrackerURL, to location: String) throws(TrackerError) -> TrackerURL {
        let next = try url.resolving(location)
        guard next.isHTTP else { throw TrackerError.unsupportedURL(next.description) }
        guard url.scheme == .http || next.scheme == .https else {
            throw TrackerError.insecureRedirect(next.description)
        }
        return next
    }

    /// One request on one connection.
    private func fetch(_ url: TrackerURL, deadline: NIODeadline) async throws -> HTTPResponseCollector.Outcome {
        let remaining = deadline - .now()
        guard remaining > .zero else { throw TrackerError.timedOut }
        let configuration = configuration
        let context: TLSClientContext?
        if url.scheme == .https {
            switch tls() {
            case .success(let built): context = built
            case .failure(let error): throw TrackerError.tls(error)
            }
        } else {
            context = nil
        }
        let channel: any Channel
        do {
            let bootstrap = ClientBootstrap(group: group)
                .connectTimeout(min(TimeAmount(configuration.connectTimeout), remaining))
            // An address given as such is dialled as it is: no resolver query (a thread-pool hop to
            // getaddrinfo per announce, a tenth of a first start's CPU with 5,000 torrents on one tracker).
            if let literal = try? SocketAddress(ipAddress: url.host, port: url.port) {
                channel = try await bootstrap.connect(to: literal).get()
            } else {
                channel = try await bootstrap.connect(host: url.host, port: url.port).get()
            }
        } catch {
            throw Self.translate(error, url: url)
        }
        // The handlers go onto the connection that won (happy eyeballs may have tried several), so
        // exactly one handler owns the promise.
        let promise = channel.eventLoop.makePromise(of: HTTPResponseCollector.Outcome.self)
        do {
            try await channel.eventLoop.submit {
                guard channel.isActive else { throw TrackerError.connection("connection closed at once") }
                try context?.addClientHandler(to: channel.pipeline.syncOperations, host: url.host)
                try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: true)
                try channel.pipeline.syncOperations.addHandler(
                    HTTPTrackerRequestHandler(
                        target: url.target, hostHeader: url.hostHeader, userAgent: configuration.userAgent,
                        limit: configuration.maxBodyLength, promise: promise))
            }.get()
        } catch {
            promise.fail(error)
            channel.close(promise: nil)
            throw Self.translate(error, url: url)
        }
        let timeout = channel.eventLoop.scheduleTask(deadline: deadline) {
            channel.pipeline.fireErrorCaught(TrackerError.timedOut)
        }
        defer { timeout.cancel() }
        return try await withTaskCancellationHandler {
            do {
                return try await promise.futureResult.get()
            } catch {
                try Task.checkCancellation()
                throw Self.translate(error, url: url)
            }
        } onCancel: {
            TLSClientContext.closeAbruptly(channel)
        }
    }

    /// Maps NIO's errors onto ``TrackerError``.
    private static func translate(_ error: any Error, url: TrackerURL) -> any Error {
        if url.scheme == .https, let tls = TLSClientContext.describing(error, host: url.hostHeader) {
            return TrackerError.tls(tls)
        }
        switch error {
        case let error as TrackerError: return error
        case is CancellationError: return error
        case ChannelError.connectTimeout: return TrackerError.timedOut
        case is NIOConnectionError: return TrackerError.connection("cannot connect to \(url.hostHeader)")
        case let error as IOError:
            // Dialling an address given as such (no resolver): refused, unreachable.
            return TrackerError.connection("cannot connect to \(url.hostHeader): \(error.description)")
        default: return TrackerError.connection("\(url.hostHeader): \(error)")
        }
    }
}
