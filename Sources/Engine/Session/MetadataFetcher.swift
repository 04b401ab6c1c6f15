import Logging
import NIOCore
import NIOPosix

/// Fetches a magnet link's info dictionary from peers (BEP 9 over BEP 10), before a
/// ``TorrentSession`` can exist for it.
///
/// Peers come from the magnet's trackers, its `x.pe` addresses, the user (``addPeers(_:source:)``)
/// and peer exchange. Each connection sends a handshake with the extension bit, the extension
/// handshake, and once the peer names its `ut_metadata` id and `metadata_size` (at most 16 MiB),
/// 16 KiB pieces are requested from several peers at once; a rejected or timed-out piece is asked
/// of another. The assembled dictionary must hash to the info-hash (SHA-1 for v1, SHA-256 for v2,
/// both for a hybrid). A peer that sent metadata that does not match is banned and never asked
/// again; when several peers contributed, the next attempt asks one peer at a time, so a liar is
/// found. A peer that breaks the extension protocol is dropped.
package actor MetadataFetcher: PeerConnectionOwner {
    /// How a run ended.
    package enum Outcome: Sendable {
        /// The info dictionary, verified against the info-hash.
        case fetched(FetchedMetadata)
        /// ``stop()`` was called (or the task was cancelled).
        case stopped
    }

    /// A progress snapshot.
    package struct Status: Sendable, Hashable {
        /// Connected peers (handshake done).
        package var peers: Int
        /// Known addresses.
        package var knownPeers: Int
        /// Metadata pieces received, of ``pieceCount``.
        package var piecesDone: Int
        /// Metadata pieces, once a peer announced the size (0 before).
        package var pieceCount: Int
    }

    /// The info-hashes the metadata must match.
    package nonisolated let infoHashes: InfoHashes
    let trackerURLs: [String]
    let configuration: SessionConfiguration
    let group: any EventLoopGroup
    let transport: (any TrackerTransport)?
    let logger: Logger
    let requestTimeout: Duration
    /// Most metadata requests outstanding at one peer.
    let requestsPerPeer = 2
    /// Rejected requests after which a peer is dropped (and dialled again later, less and less often):
    /// a peer that announced a size but sends nothing is of no use.
    static let rejectsToDrop = 3
    let wireHash: [UInt8]

    /// Addresses to dial, bounded (see ``PeerCandidateTable``).
    var candidates: PeerCandidateTable
    var connections: [PeerKey: MetadataPeer] = [:]
    /// The address of every connection made, also closed ones: pieces outlive their connection.
    var addresses: [PeerKey: PeerAddress] = [:]
    var nextKey = 0
    var assembly: MetadataAssembly?
    /// After a hash failure that could not be pinned on one peer, ask one peer at a time.
    var singleSourceMode = false
    var result: FetchedMetadata?
    var stopRequested = false
    /// Tracker states since the last ``takeTrackerStatuses()``, by URL.
    var trackerStatuses: [String: TrackerStatus] = [:]

    /// A fetcher for the torrent `infoHashes` names.
    ///
    /// - Parameters:
    ///   - trackers: announce URLs (a magnet's `tr`), each its own tier.
    ///   - transport: how to reach trackers; `nil` uses none.
    ///   - requestTimeout: how long a peer may take to answer a metadata request before the piece is
    ///     asked of another.
    package init(
        infoHashes: InfoHashes, trackers: [String] = [], configuration: SessionConfiguration = SessionConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, transport: (any TrackerTransport)? = nil,
        requestTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "btq.metadata")
    ) {
        self.infoHashes = infoHashes
        self.trackerURLs = trackers
        self.configuration = configuration
        self.group = group
        self.transport = transport
        self.requestTimeout = requestTimeout
        self.logger = logger
        self.wireHash = infoHashes.wireHash
        self.candidates = PeerCandidateTable(limits: .init(configuration))
    }

    /// Addresses to try. Our own address and banned peers are skipped.
    package func addPeers(_ addresses: [PeerAddress], source: PeerUpdate.Source) {
        let fresh = addresses.filter { !($0.isLoopback && $0.port == configuration.listenPort) }
        candidates.add(fresh, source: source, notBefore: .now)
    }

    /// Ends ``run()`` soon.
    package func stop() {
        stopRequested = true
        for connection in connections.values { connection.channel.close(promise: nil) }
    }

    /// Addresses banned for sending metadata that did not match the info-hash.
    package func bannedAddresses() -> [PeerAddress] {
        candidates.values.filter(\.banned).map(\.address).sorted { $0.description < $1.description }
    }

    /// The trackers' states that changed since the previous call (for the queue's tracker list).
    package func takeTrackerStatuses() -> [TrackerStatus] {
        defer { trackerStatuses = [:] }
        return trackerStatuses.values.sorted { $0.url < $1.url }
    }

    private func trackerStatusChanged(_ status: TrackerStatus) {
        trackerStatuses[status.url] = status
    }

    /// A snapshot for progress displays.
    package func status() -> Status {
        Status(
            peers: connections.values.count(where: \.handshaken), knownPeers: candidates.count,
            piecesDone: assembly?.receivedCount ?? 0, pieceCount: assembly?.pieceCount ?? 0)
    }

    /// Fetches until the metadata is verified or ``stop()`` is called.
    package func run() async -> Outcome {
        let announcer = makeAnnouncer()
        await withDiscardingTaskGroup { group in
            if let announcer {
                group.addTask { await announcer.run() }
                group.addTask {
                    for await event in announcer.events {
                        switch event {
                        case .peers(let addresses, _): await self.addPeers(addresses, source: .tracker)
                        case .status(let status): await self.trackerStatusChanged(status)
                        }
                    }
                }
            }
            while !stopRequested, result == nil {
                tick()
                for address in addressesToDial() {
                    group.addTask { await self.dial(address) }
                }
                do {
                    // Short ticks: the download waits for the metadata, and the loop notices it at the next one.
                    try await Task.sleep(for: min(configuration.tickInterval, .milliseconds(100)))
                } catch {
                    stopRequested = true
                }
            }
            for connection in connections.values { connection.channel.close(promise: nil) }
            await announcer?.stop()
            group.cancelAll()
        }
        guard let result else { return .stopped }
        return .fetched(result)
    }

    // MARK: - Trackers and dialling

    private func makeAnnouncer() -> TrackerAnnouncer? {
        guard let transport else { return nil }
        let tiers = trackerURLs.filter(TrackerClient.supports).map { [$0] }
        guard !tiers.isEmpty else { return nil }
        let identity = TrackerAnnouncer.Identity(
            infoHash: wireHash, peerId: configuration.peerId, port: configuration.listenPort)
        let filter = TrackerPeerFilter(
            ownAddresses: TrackerPeerFilter.loopbackAddresses(port: configuration.listenPort),
            ownPeerId: configuration.peerId)
        return TrackerAnnouncer(tiers: tiers, identity: identity, transport: transport, filter: filter) {
            // The size is unknown: announce one block left, as libtorrent does, so trackers list seeds.
            TrackerAnnouncer.Totals(uploaded: 0, downloaded: 0, left: Int64(MetadataMessage.pieceLength))
        }
    }

    private func addressesToDial() -> [PeerAddress] {
        candidates.takeDue(
            now: .now, connected: connections.count, maxPeers: configuration.maxPeers,
            maxConnecting: configuration.maxConnecting)
    }

    private func dial(_ address: PeerAddress) async {
        let channel: PeerConnectionDriver.Connection
        do {
            channel = try await PeerDialer.connect(
                to: address, group: group, timeout: configuration.connectTimeout,
                maxFrameLength: PeerMessageDecoder.defaultMaxFrameLength, budget: configuration.memoryBudget)
        } catch {
            candidates.closed(address, failed: true, now: .now)
            logger.debug("cannot connect to \(address): \(error)")
            return
        }
        await runConnection(channel, address: address)
    }

    private func runConnection(_ channel: PeerConnectionDriver.Connection, address: PeerAddress) async {
        let outbox = PeerOutbox(budget: configuration.memoryBudget)
        let key = PeerKey(nextKey)
        nextKey += 1
        let now = ContinuousClock.now
        addresses[key] = address
        connections[key] = MetadataPeer(key: key, address: address, channel: channel.channel, outbox: outbox, now: now)
        candidates.connected(address)
        let handshake = PeerHandshake(infoHash: wireHash, peerId: configuration.peerId, reserved: [.extensionProtocol])
        outbox.send(PeerWireFrame.handshake(handshake))
        // The same driver as a torrent's connections: its reader and writer, outbox budget and limits.
        let known = PeerConnectionDriver.Admitted(owner: self, key: key)
        let (_, reason, _) = await PeerConnectionDriver.run(channel, outbox: outbox, known: known) { handshake in
            if let problem = await self.handshakeReceived(handshake, from: key) {
                throw PeerDropped(reason: problem)
            }
            return known
        }
        outbox.finish()
        connectionClosed(key, reason: reason)
    }

    private func connectionClosed(_ key: PeerKey, reason: String) {
        guard let connection = connections.removeValue(forKey: key) else { return }
        assembly?.peerGone(key)
        if assembly?.singleSource == key { assembly = nil }
        candidates.closed(connection.address, failed: !connection.handshaken, now: .now)
        logger.debug("metadata peer \(connection.address) closed: \(reason)")
    }

    // MARK: - Messages

    /// Checks the peer's handshake; returns why to drop the peer, if so.
    private func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String? {
        guard var connection = connections[key] else { return "gone" }
        guard handshake.infoHash == wireHash else { return "wrong info-hash" }
        guard handshake.peerId != configuration.peerId else {
            candidates[connection.address]?.banned = true
            return "connected to ourselves"
        }
        guard handshake.reserved.supportsExtensionProtocol else {
            // Counted as a failure when it closes: asked again later, less and less often.
            return "no extension protocol: it cannot send metadata"
        }
        connection.handshaken = true
        connection.peerId = handshake.peerId
        connection.handshakenAt = .now
        connections[key] = connection
        connection.send([connection.extensionHandshake(listenPort: configuration.advertisedPort)])
        return nil
    }

    /// Handles one socket read after the handshake: only extension messages matter here.
    func received(_ frames: [PeerWireFrame], from key: PeerKey) -> [ReaderStep] {
        for frame in frames {
            guard connections[key] != nil else { return [.disconnect("gone")] }
            switch frame {
            case .handshake:
                return [.disconnect("a second handshake")]
            case .message(let message):
                guard case .extended(let id, let payload) = message else { continue }
                do throws(ExtensionMessageError) {
                    if let problem = try receivedExtended(id: id, payload: payload, from: key) {
                        return [.disconnect(problem)]
                    }
                } catch {
                    return [.disconnect("extension protocol: \(error)")]
                }
            }
        }
        requestPieces()
        return []
    }

    /// Nothing is uploaded while fetching metadata.
    func uploadWritten(_ key: PeerKey, bytes: Int) {}

    /// ``received(_:from:)`` never asks for a block to be stored.
    nonisolated func storeBlock(_ request: BlockRequest, bytes: [UInt8], from key: PeerKey) async throws {
        throw PeerDropped(reason: "a block for a metadata fetch")
    }

    /// No download limit applies to metadata.
    nonisolated func readPause(after bytes: Int) -> Duration { .zero }

    private func receivedExtended(
        id: UInt8, payload: ByteBuffer, from key: PeerKey
    ) throws(ExtensionMessageError) -> String? {
        guard var connection = connections[key] else { return "gone" }
        switch id {
        case 0:
            let handshake = try ExtensionHandshake(decoding: payload.readableBytesView)
            connection.extensions = handshake
            connections[key] = connection
            guard handshake.id(of: ExtensionHandshake.utMetadata) != nil, let size = handshake.metadataSize else {
                // It may have the metadata later (a peer fetching it too): ask again, less and less often.
                candidates.failed(connection.address)
                return handshake.id(of: ExtensionHandshake.utMetadata) == nil
                    ? "no ut_metadata" : "it does not have the metadata"
            }
            guard size <= MetadataMessage.maxMetadataSize else {
                throw .tooLarge("announced metadata", length: size, limit: MetadataMessage.maxMetadataSize)
            }
        case LocalExtensionID.metadata:
            guard let message = try MetadataMessage.decode(payload.readableBytesView) else { return nil }
            return try receivedMetadata(message, from: key)
        case LocalExtensionID.pex:
            let message = try PexMessage(decoding: payload.readableBytesView)
            addPeers(message.added.map(\.address), source: .pex)  // the table bounds what PEX adds
        default:
            break
        }
        return nil
    }

    private func receivedMetadata(
        _ message: MetadataMessage, from key: PeerKey
    ) throws(ExtensionMessageError)
        -> String?
    {
        guard let connection = connections[key] else { return "gone" }
        switch message {
        case .request(let piece):
            // We have nothing to serve yet.
            if let theirs = connection.metadataId {
                connection.send([
                    .extended(id: theirs, payload: ByteBuffer(bytes: MetadataMessage.reject(piece: piece).encoded()))
                ])
            }
        case .reject(let piece):
            assembly?.rejected(piece: piece, by: key)
            connections[key]?.rejectedAt = .now
            connections[key]?.rejects += 1
            if connection.rejects + 1 >= Self.rejectsToDrop {
                candidates.failed(connection.address)
                return "rejected \(connection.rejects + 1) metadata requests"
            }
        case .data(let piece, let totalSize, let bytes):
            guard var current = assembly else { throw .unrequestedMetadata(piece: piece) }
            if let announced = connection.extensions?.metadataSize, announced != totalSize {
                throw .metadataSizeChanged(announced: announced, sent: totalSize)
            }
            // An answer for an assembly of another size, which most peers outvoted: not used.
            guard totalSize == current.size else { return nil }
            let complete = try current.receive(piece: piece, bytes: bytes, from: key)
            assembly = current
            if complete { verify(current) }
        }
        return nil
    }

    // MARK: - Requests and verification

    /// Hands out missing pieces to peers that have the metadata, a few requests each.
    private func requestPieces() {
        guard result == nil else { return }
        let now = ContinuousClock.now
        let voters = connections.values.compactMap { connection -> MetadataSizeElection.Voter? in
            guard connection.handshaken, let size = connection.announcedSize, size > 0, !isBanned(connection)
            else { return nil }
            return .init(key: connection.key, size: size, canAsk: isUsable(connection, now: now))
        }
        let current = assembly.map { MetadataSizeElection.Current(size: $0.size, started: $0.receivedCount > 0) }
        let size = MetadataSizeElection.choose(among: voters, current: current)
        if size != assembly?.size {
            // Nobody left who has metadata of the old size, or most peers announce another one: start
            // over with that size. A peer announcing another size is not asked.
            let first = voters.filter { $0.size == size && $0.canAsk }.min { $0.key < $1.key }
            assembly = size.flatMap { MetadataAssembly(size: $0, singleSource: singleSourceMode ? first?.key : nil) }
        }
        guard var current = assembly else { return }
        for connection in connections.values.sorted(by: { $0.key < $1.key }) where isUsable(connection, now: now) {
            guard connection.announcedSize == current.size, let theirs = connection.metadataId else { continue }
            var messages: [PeerMessage] = []
            while current.outstanding(at: connection.key) < requestsPerPeer,
                let piece = current.nextRequest(for: connection.key, now: now)
            {
                messages.append(
                    .extended(id: theirs, payload: ByteBuffer(bytes: MetadataMessage.request(piece: piece).encoded())))
            }
            connection.send(messages)
        }
        assembly = current
    }

    private func isUsable(_ connection: MetadataPeer, now: ContinuousClock.Instant) -> Bool {
        !isBanned(connection) && connection.canBeAsked(now: now, rest: requestTimeout)
    }

    private func isBanned(_ connection: MetadataPeer) -> Bool {
        candidates[connection.address]?.banned == true
    }

    private func verify(_ complete: MetadataAssembly) {
        let info = complete.assembled()
        let contributors = Set(complete.contributors.compactMap { addresses[$0] })
        assembly = nil
        if infoHashes.matches(info: info) {
            let sources = contributors.sorted { $0.description < $1.description }
            logger.info("metadata of \(info.count) bytes from \(sources.map(\.description).joined(separator: ", "))")
            let peers = candidates.values.filter { !$0.banned }.map { (address: $0.address, source: $0.source) }
            result = FetchedMetadata(infoBytes: info, sources: sources, peers: peers)
            return
        }
        if contributors.count == 1, let liar = contributors.first {
            logger.info("banning \(liar): its metadata does not match the info-hash")
            candidates[liar]?.banned = true
            for connection in connections.values where connection.address == liar {
                connection.channel.close(promise: nil)
            }
        } else {
            logger.info("metadata from \(contributors.count) peers does not match the info-hash; asking one at a time")
            singleSourceMode = true
        }
        requestPieces()
    }

    /// Timeouts, keep-alives and requests.
    private func tick() {
        let now = ContinuousClock.now
        if var current = assembly {
            for key in current.expire(now: now, timeout: requestTimeout) {
                connections[key]?.timeouts += 1
                connections[key]?.rejectedAt = now  // rest a while before it is asked again
            }
            assembly = current
        }
        for (key, connection) in connections {
            switch connection.upkeep(now: now, handshakeTimeout: configuration.handshakeTimeout) {
            case .nothing:
                break
            case .keepAlive:
                connection.send([.keepAlive])
                connections[key]?.lastKeepAliveSent = now
            case .close(let why):
                logger.debug("closing metadata peer \(connection.address): \(why)")
                connection.channel.close(promise: nil)
            }
        }
        requestPieces()
    }
}

/// A magnet link's info dictionary as fetched from peers, checked against its info-hash.
package struct FetchedMetadata: Sendable {
    /// The info dictionary's bytes.
    package var infoBytes: [UInt8]
    /// The peers that sent it.
    package var sources: [PeerAddress]
    /// Every address the fetcher knew and did not ban, with where it came from, for the download.
    package var peers: [(address: PeerAddress, source: PeerUpdate.Source)]
}
