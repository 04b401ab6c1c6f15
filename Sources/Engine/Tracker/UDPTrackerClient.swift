import NIOCore
import NIOPosix

/// Announces to and scrapes UDP trackers (BEP 15) over one shared socket per address family.
///
/// - Sockets are opened on first use, bound to an ephemeral port on ``Configuration/bindIPv4`` or
///   ``Configuration/bindIPv6`` depending on the tracker's address, and shared by all transactions.
/// - Every request carries a fresh random transaction id. A datagram is accepted only from the
///   tracker's address and only for a transaction still waiting; anything else is dropped.
/// - Connection ids are cached per tracker endpoint (`host:port`) for
///   ``Timing/connectionIdLifetime`` and dropped when the tracker answers with an error.
/// - A request unanswered after ``Timing/delay(attempt:)`` is sent again (BEP 15: 15·2^n s), up to
///   ``Timing/maxAttempts`` sends in all, after which the call fails with ``TrackerError/timedOut``.
/// - IPv6 trackers answer with 18-byte peers; the address family of the tracker decides.
/// - `udp://host:port/path` is accepted; the path (BEP 41) is not sent.
///
/// Call ``close()`` when done. Methods throw ``TrackerError``, or `CancellationError` when the
/// calling task is cancelled.
public actor UDPTrackerClient {
    /// Retransmission and connection id timing; tests shrink it to milliseconds.
    public struct Timing: Sendable, Hashable {
        /// The wait after the first send (BEP 15: 15 s); it doubles with each retransmission.
        public var baseDelay: Duration
        /// Largest doubling exponent.
        public var maxExponent: Int
        /// Sends per request, the first one included.
        public var maxAttempts: Int
        /// How long a connection id is reused (BEP 15: 60 s).
        public var connectionIdLifetime: Duration

        /// Creates a timing; the defaults follow BEP 15 and give up after 15 + 30 + 60 + 120 s.
        public init(
            baseDelay: Duration = .seconds(15), maxExponent: Int = 3, maxAttempts: Int = 4,
            connectionIdLifetime: Duration = .seconds(UDPTrackerMessage.connectionIdLifetime)
        ) {
            self.baseDelay = baseDelay
            self.maxExponent = maxExponent
            self.maxAttempts = maxAttempts
            self.connectionIdLifetime = connectionIdLifetime
        }

        /// The wait for an answer after send number `attempt` (from 0): `baseDelay`·2^min(attempt, maxExponent).
        public func delay(attempt: Int) -> Duration {
            let base = UDPTrackerMessage.retransmitDelay(attempt: 0, maxExponent: maxExponent)
            return baseDelay * (UDPTrackerMessage.retransmitDelay(attempt: attempt, maxExponent: maxExponent) / base)
        }
    }

    /// Where the sockets are bound and how patient the client is.
    public struct Configuration: Sendable, Hashable {
        /// The local IPv4 address (`0.0.0.0` for all; tests use `127.0.0.1`).
        public var bindIPv4: String
        /// The local IPv6 address (`::` for all; tests use `::1`).
        public var bindIPv6: String
        /// Retransmission timing.
        public var timing: Timing

        /// Creates a configuration.
        public init(bindIPv4: String = "0.0.0.0", bindIPv6: String = "::", timing: Timing = .init()) {
            self.bindIPv4 = bindIPv4
            self.bindIPv6 = bindIPv6
            self.timing = timing
        }
    }

    private enum Wake {
        case reply([UInt8])
        case timedOut
        case cancelled
        case failed(TrackerError)
    }

    private struct Pending {
        var remote: SocketAddress
        var token: UInt64
        var continuation: CheckedContinuation<Wake, Never>
    }

    private let group: any EventLoopGroup
    /// The configuration in use.
    public nonisolated let configuration: Configuration
    private var sockets: [Bool: Task<any Channel, any Error>] = [:]
    private var channels: [any Channel] = []
    private var pending: [UInt32: Pending] = [:]
    private var connectionIds: [String: (id: UInt64, expires: ContinuousClock.Instant)] = [:]
    private var nextToken: UInt64 = 0
    private var isClosed = false

    /// A client whose sockets run on `group`.
    public init(group: any EventLoopGroup, configuration: Configuration = .init()) {
        self.group = group
        self.configuration = configuration
    }

    deinit {
        for channel in channels { channel.close(promise: nil) }
    }

    /// Announces `request` to the tracker at `url` (`udp://host:port[/path]`).
    public func announce(url: String, request: AnnounceRequest) async throws -> AnnounceResponse {
        let (endpoint, remote, channel) = try await prepare(url)
        let ipv6 = remote.protocol == .inet6
        let reply = try await transact(
            endpoint: endpoint, remote: remote, channel: channel, expecting: .announce, ipv6: ipv6
        ) { id, transaction in
            UDPTrackerMessage.announceRequest(connectionId: id, transactionId: transaction, request)
        }
        guard case .announced(let response) = reply else { throw TrackerError.malformed("unexpected UDP reply") }
        return response
    }

    /// Scrapes up to ``UDPTrackerMessage/maxScrapeHashes`` torrents in one request; the results come in
    /// the order of `infoHashes`.
    public func scrape(url: String, infoHashes: [[UInt8]]) async throws -> [ScrapeResult] {
        precondition(
            !infoHashes.isEmpty && infoHashes.count <= UDPTrackerMessage.maxScrapeHashes
                && infoHashes.allSatisfy { $0.count == 20 }, "1 to 74 info-hashes of 20 bytes")
        let (endpoint, remote, channel) = try await prepare(url)
        let reply = try await transact(
            endpoint: endpoint, remote: remote, channel: channel, expecting: .scrape, scrapeCount: infoHashes.count
        ) { id, transaction in
            UDPTrackerMessage.scrapeRequest(connectionId: id, transactionId: transaction, infoHashes: infoHashes)
        }
        guard case .scraped(let results) = reply else { throw TrackerError.malformed("unexpected UDP reply") }
        return results
    }

    /// Scrapes one torrent.
    public func scrape(url: String, infoHash: [UInt8]) async throws -> ScrapeResult {
        try await scrape(url: url, infoHashes: [infoHash])[0]
    }

    /// Closes the sockets; waiting requests fail with ``TrackerError/connection(_:)``, later ones too.
    public func close() async {
        isClosed = true
        let waiting = pending
        pending.removeAll()
        for entry in waiting.values { entry.continuation.resume(returning: .failed(.connection("client closed"))) }
        let open = channels
        channels.removeAll()
        sockets.removeAll()
        for channel in open { try? await channel.close() }
    }

    /// The local address of the socket used for IPv4 (or IPv6) trackers, opening it if needed.
    public func localAddress(ipv6: Bool = false) async throws -> SocketAddress? {
        try await socket(ipv6: ipv6).localAddress
    }

    // MARK: - Transactions

    /// Connects when no valid connection id is cached, then sends the packet `build` makes for the
    /// connection id and transaction id and decodes the reply, retransmitting on silence.
    private func transact(
        endpoint: String, remote: SocketAddress, channel: any Channel, expecting action: UDPTrackerMessage.Action,
        ipv6: Bool = false, scrapeCount: Int = 0, build: (UInt64, UInt32) -> [UInt8]
    ) async throws -> UDPTrackerMessage.Reply {
        let timing = configuration.timing
        for attempt in 0..<max(1, timing.maxAttempts) {
            let timeout = timing.delay(attempt: attempt)
            let connectionId: UInt64
            if let cached = connectionIds[endpoint], ContinuousClock.now < cached.expires {
                connectionId = cached.id
            } else {
                let transaction = newTransactionId()
                let packet = UDPTrackerMessage.connectRequest(transactionId: transaction)
                guard let bytes = try await send(packet, transaction, to: remote, on: channel, timeout: timeout) else {
                    continue
                }
                switch try UDPTrackerMessage.decodeReply(bytes, transactionId: transaction, expecting: .connect) {
                case .connected(let id):
                    connectionIds[endpoint] = (id, ContinuousClock.now + timing.connectionIdLifetime)
                    connectionId = id
                case .error(let message):
                    throw TrackerError.failure(message)
                case .announced, .scraped:
                    throw TrackerError.malformed("unexpected UDP reply to connect")
                }
            }
            let transaction = newTransactionId()
            let packet = build(connectionId, transaction)
            guard let bytes = try await send(packet, transaction, to: remote, on: channel, timeout: timeout) else {
                continue
            }
            let reply = try UDPTrackerMessage.decodeReply(
                bytes, transactionId: transaction, expecting: action, ipv6: ipv6, expectedScrapeCount: scrapeCount)
            if case .error(let message) = reply {
                connectionIds[endpoint] = nil
                throw TrackerError.failure(message)
            }
            return reply
        }
        throw TrackerError.timedOut
    }

    /// Sends `packet` and waits up to `timeout` for the datagram answering `transaction`; `nil` on silence.
    private func send(
        _ packet: [UInt8], _ transaction: UInt32, to remote: SocketAddress, on channel: any Channel,
        timeout: Duration
    ) async throws -> [UInt8]? {
        guard !isClosed else { throw TrackerError.connection("client closed") }
        let token = nextToken
        nextToken &+= 1
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            await self?.finish(transaction, token: token, with: .timedOut)
        }
        defer { timer.cancel() }
        let wake = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                pending[transaction] = Pending(remote: remote, token: token, continuation: continuation)
                let envelope = AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: packet))
                channel.writeAndFlush(envelope).whenFailure { [weak self] error in
                    Task { await self?.finish(transaction, token: token, with: .failed(.connection("\(error)"))) }
                }
            }
        } onCancel: {
            Task { [weak self] in await self?.finish(transaction, token: token, with: .cancelled) }
        }
        switch wake {
        case .reply(let bytes): return bytes
        case .timedOut: return nil
        case .cancelled: throw CancellationError()
        case .failed(let error): throw error
        }
    }

    /// Completes the wait of `transaction` if it is still the one identified by `token`.
    private func finish(_ transaction: UInt32, token: UInt64, with wake: Wake) {
        guard let entry = pending[transaction], entry.token == token else { return }
        pending[transaction] = nil
        entry.continuation.resume(returning: wake)
    }

    /// Matches a received datagram to a waiting transaction; strays are dropped.
    private func deliver(_ datagram: UDPDatagram) {
        guard datagram.bytes.count >= 8 else { return }
        let transaction = datagram.bytes.readBigEndianUInt32(at: 4)
        guard let entry = pending[transaction], entry.remote == datagram.remote else { return }
        pending[transaction] = nil
        entry.continuation.resume(returning: .reply(datagram.bytes))
    }

    private func newTransactionId() -> UInt32 {
        while true {
            let candidate = UInt32.random(in: .min ... .max)
            if pending[candidate] == nil { return candidate }
        }
    }

    // MARK: - Sockets and addresses

    /// Parses `url`, resolves the tracker and opens the socket of its family.
    private func prepare(_ url: String) async throws -> (String, SocketAddress, any Channel) {
        guard !isClosed else { throw TrackerError.connection("client closed") }
        let target = try TrackerURL(parsing: url)
        guard target.scheme == .udp else { throw TrackerError.unsupportedURL(url) }
        let remote = try await Self.resolve(target)
        let channel = try await socket(ipv6: remote.protocol == .inet6)
        return (target.endpoint, remote, channel)
    }

    /// The address of `target`: a literal directly, a name through `getaddrinfo` on NIO's thread pool.
    private static func resolve(_ target: TrackerURL) async throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: target.host, port: target.port) { return literal }
        do {
            return try await NIOThreadPool.singleton.runIfActive {
                try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
            }
        } catch {
            throw TrackerError.connection("cannot resolve \(target.host)")
        }
    }

    /// The shared socket of one address family, opened on first use.
    private func socket(ipv6: Bool) async throws -> any Channel {
        if let opening = sockets[ipv6] { return try await opening.value }
        let host = ipv6 ? configuration.bindIPv6 : configuration.bindIPv4
        let group = group
        let opening = Task<any Channel, any Error> {
            let (stream, continuation) = AsyncStream.makeStream(
                of: UDPDatagram.self, bufferingPolicy: .bufferingNewest(256))
            let channel = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            UDPDatagramForwarder(continuation: continuation))
                    }
                }
                .bind(host: host, port: 0).get()
            Task { [weak self] in
                for await datagram in stream {
                    guard let self else { return }
                    await self.deliver(datagram)
                }
            }
            return channel
        }
        sockets[ipv6] = opening
        do {
            let channel = try await opening.value
            if isClosed {
                try? await channel.close()
                throw TrackerError.connection("client closed")
            }
            if !channels.contains(where: { $0 === channel }) { channels.append(channel) }
            return channel
        } catch let error as TrackerError {
            throw error
        } catch {
            sockets[ipv6] = nil
            throw TrackerError.connection("cannot open a UDP socket on \(host): \(error)")
        }
    }
}
