import NIOCore
import NIOHTTP1
import NIOPosix

/// Announces to and scrapes HTTP trackers: a minimal HTTP/1.1 `GET` over SwiftNIO, one connection per
/// request (`Connection: close`).
///
/// - Only `http://` URLs are supported; `https://` (and every other scheme) fails with
///   ``TrackerError/unsupportedURL(_:)``. TLS needs a dependency btq does not carry yet.
/// - Host names are resolved by NIO's resolver (`getaddrinfo`, happy eyeballs over IPv4 and IPv6).
/// - The connect timeout bounds resolving and connecting; the total timeout bounds the whole request,
///   redirects included.
/// - Up to ``Configuration/maxRedirects`` `http` → `http` redirects (301, 302, 303, 307, 308) are
///   followed; one more, or one to another scheme, fails.
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

        /// Creates a configuration; the defaults suit public trackers.
        public init(
            connectTimeout: Duration = .seconds(15), totalTimeout: Duration = .seconds(30),
            userAgent: String = "btq/0.1.0", maxBodyLength: Int = HTTPTrackerResponse.maxBodyLength,
            maxRedirects: Int = 3
        ) {
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.userAgent = userAgent
            self.maxBodyLength = maxBodyLength
            self.maxRedirects = maxRedirects
        }
    }

    private let group: any EventLoopGroup
    /// The limits in use.
    public let configuration: Configuration

    /// A client whose connections run on `group`.
    public init(group: any EventLoopGroup, configuration: Configuration = .init()) {
        self.group = group
        self.configuration = configuration
    }

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
        precondition(infoHash.count == 20, "an info-hash has 20 bytes")
        _ = try TrackerURL(parsing: url)
        guard let scrapeURL = HTTPTrackerResponse.scrapeURL(announce: url) else {
            throw TrackerError.unsupportedURL(url)
        }
        let full = AnnounceRequest.append([("info_hash", PercentEncoding.encode(infoHash))], to: scrapeURL)
        let body = try await get(full)
        return try HTTPTrackerResponse.scrape(body, infoHash: infoHash)
    }

    /// Fetches `url`, following redirects, and returns the body of the final 200 response.
    func get(_ url: String) async throws -> [UInt8] {
        let deadline = NIODeadline.now() + TimeAmount(configuration.totalTimeout)
        var target = try TrackerURL(parsing: url)
        var redirects = 0
        while true {
            guard target.scheme == .http else { throw TrackerError.unsupportedURL(target.description) }
            switch try await fetch(target, deadline: deadline) {
            case .body(let body):
                return body
            case .redirect(let status, let location):
                guard redirects < configuration.maxRedirects else { throw TrackerError.httpStatus(status) }
                redirects += 1
                target = try target.resolving(location)
            }
        }
    }

    /// One request on one connection.
    private func fetch(_ url: TrackerURL, deadline: NIODeadline) async throws -> HTTPResponseCollector.Outcome {
        let remaining = deadline - .now()
        guard remaining > .zero else { throw TrackerError.timedOut }
        let configuration = configuration
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(min(TimeAmount(configuration.connectTimeout), remaining))
                .connect(host: url.host, port: url.port).get()
        } catch {
            throw Self.translate(error, url: url)
        }
        // The handlers go onto the connection that won (happy eyeballs may have tried several), so
        // exactly one handler owns the promise.
        let promise = channel.eventLoop.makePromise(of: HTTPResponseCollector.Outcome.self)
        do {
            try await channel.eventLoop.submit {
                guard channel.isActive else { throw TrackerError.connection("connection closed at once") }
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
            channel.close(promise: nil)
        }
    }

    /// Maps NIO's errors onto ``TrackerError``.
    private static func translate(_ error: any Error, url: TrackerURL) -> any Error {
        switch error {
        case let error as TrackerError: return error
        case is CancellationError: return error
        case ChannelError.connectTimeout: return TrackerError.timedOut
        case is NIOConnectionError: return TrackerError.connection("cannot connect to \(url.hostHeader)")
        default: return TrackerError.connection("\(url.hostHeader): \(error)")
        }
    }
}
