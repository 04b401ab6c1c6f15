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
///
/// The actor owns the connections (a ``MetadataPeer`` each), the dialling and the trackers; what to
/// ask of whom, what an answer means and whether the result is the torrent's is its
/// ``MetadataDownload``'s decision, which the actor applies.
package actor MetadataFetcher: DialingOwner {
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

    /// Addresses to dial, bounded (see ``PeerCandidateTable``).
    var candidates: PeerCandidateTable
    var connections: [PeerKey: MetadataPeer] = [:]
    var nextKey = 0
    /// The pieces asked and received, and the check of the result.
    var exchange: MetadataDownload
    var result: FetchedMetadata?
    /// The verified info dictionary and its senders while a v2 torrent's piece layers are fetched.
    var verified: (info: [UInt8], sources: [PeerAddress])?
    /// The piece layers a v2 info dictionary lacks, once it is verified (see ``V2PieceLayerFetch``).
    var layerFetch: V2PieceLayerFetch?
    var stopRequested = false
    /// The fetch's place under the process's dial pace (`nil`: none); its loop looks again at each short
    /// tick, so its turn needs no wake.
    var dialTurns: DialTurns?
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
        self.logger = logger
        self.candidates = PeerCandidateTable(limits: .init(configuration))
        self.exchange = MetadataDownload(infoHashes: infoHashes, requestTimeout: requestTimeout)
    }

    /// The info-hash sent in handshakes and announces.
    var wireHash: [UInt8] { infoHashes.wireHash }

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
            piecesDone: exchange.piecesDone, pieceCount: exchange.pieceCount)
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
                    group.addTask { [eventLoops = self.group, configuration] in
                        await PeerConnectionDriver.dial(
                            address, for: self, group: eventLoops, configuration: configuration,
                            maxFrameLength: PeerMessageDecoder.defaultMaxFrameLength)
                    }
                }
                do {
                    // Short ticks: the download waits for the metadata, and the loop notices it at the next one.
                    try await Task.sleep(for: min(configuration.tickInterval, .milliseconds(100)))
                } catch {
                    stopRequested = true
                }
            }
            dialTurns?.leave()
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

    /// The addresses due that the fetch dials now: within its limits and, past its first attempts to new
    /// addresses, as the process's ``DialPace`` allows (see ``DialTurns``).
    private func addressesToDial() -> [PeerAddress] {
        if dialTurns == nil, let pace = configuration.dialPace {
            dialTurns = DialTurns(pace: pace, member: self, boost: configuration.dialBoost) {}
        }
        guard dialTurns?.mayDial ?? true else { return [] }
        let due = candidates.takeDue(
            now: .now, connected: connections.count, maxPeers: configuration.maxPeers,
            maxConnecting: configuration.maxConnecting)
        return dialTurns?.admit(due, from: &candidates) ?? due
    }

    func dialFailed(_ address: PeerAddress, error: any Error) {
        candidates.closed(address, failed: true, now: .now)
        logger.debug("cannot connect to \(address): \(error)")
    }

    nonisolated var handshakeInfoHash: [UInt8] { infoHashes.wireHash }

    func registerDialled(
        _ address: PeerAddress, channel: any Channel, outbox: PeerOutbox, security: PeerTransportSecurity
    ) -> PeerKey {
        let key = PeerKey(nextKey)
        nextKey += 1
        exchange.connected(key, address: address)
        connections[key] = MetadataPeer(key: key, address: address, channel: channel, outbox: outbox, now: .now)
        candidates.connected(address)
        // A v2 torrent's peers answer hash requests only on a v2 connection: the v2 hash names one, and
        // for a hybrid the upgrade bit does (BEP 52).
        let reserved: ReservedBits = infoHashes.v2 == nil ? [.extensionProtocol] : [.extensionProtocol, .v2Upgrade]
        let handshake = PeerHandshake(infoHash: wireHash, peerId: configuration.peerId, reserved: reserved)
        outbox.send(PeerWireFrame.handshake(handshake))
        return key
    }

    func connectionEnded(_ key: PeerKey, reason: String) {
        guard let connection = connections.removeValue(forKey: key) else { return }
        exchange.peerGone(key)
        layerFetch?.peerGone(key)
        candidates.closed(connection.address, failed: !connection.handshaken, now: .now)
        logger.debug("metadata peer \(connection.address) closed: \(reason)")
    }

    // MARK: - Requests and verification

    /// Sends the requests the exchange hands out to the peers that have the metadata.
    func requestPieces() {
        guard result == nil, verified == nil else { return }
        let now = ContinuousClock.now
        let peers = connections.values.map { exchangePeer($0, now: now) }
        for (key, messages) in exchange.requests(to: peers, now: now) {
            connections[key]?.send(messages)
        }
    }

    /// `connection` as the exchange sees it at `now`.
    func exchangePeer(_ connection: MetadataPeer, now: ContinuousClock.Instant) -> MetadataDownload.Peer {
        MetadataDownload.Peer(
            key: connection.key, handshaken: connection.handshaken, extensions: connection.extensions,
            canBeAsked: connection.canBeAsked(now: now, rest: exchange.requestTimeout),
            banned: candidates[connection.address]?.banned == true, rejects: connection.rejects)
    }

    /// Keeps metadata that matched; bans the peer that sent all of metadata that did not, or asks one
    /// peer at a time when several did.
    func apply(_ verdict: MetadataDownload.Verdict) {
        switch verdict {
        case .verified(let info, let sources):
            logger.info("metadata of \(info.count) bytes from \(sources.map(\.description).joined(separator: ", "))")
            if let metainfo = try? Metainfo(fetchedInfo: info, trackers: []),
                let fetch = V2PieceLayerFetch(metainfo: metainfo, requestTimeout: exchange.requestTimeout)
            {
                logger.info("fetching \(fetch.chunksLeft) chunk(s) of piece layers with hash requests")
                verified = (info, sources)
                layerFetch = fetch
                requestLayers()
            } else {
                finish(info: info, sources: sources, pieceLayers: [:])
            }
            return
        case .ban(let liar):
            logger.info("banning \(liar): its metadata does not match the info-hash")
            candidates[liar]?.banned = true
            for connection in connections.values where connection.address == liar {
                connection.channel.close(promise: nil)
            }
        case .askOneAtATime(let senders):
            logger.info("metadata from \(senders) peers does not match the info-hash; asking one at a time")
        }
        requestPieces()
    }

    /// The result: the info dictionary, its senders, the peers known, and a v2 torrent's piece layers.
    func finish(info: [UInt8], sources: [PeerAddress], pieceLayers: [[UInt8]: [UInt8]]) {
        let peers = candidates.values.filter { !$0.banned }.map { (address: $0.address, source: $0.source) }
        result = FetchedMetadata(infoBytes: info, sources: sources, peers: peers, pieceLayers: pieceLayers)
    }

    /// Sends the hash requests the layer fetch hands out to the peers past their handshake.
    func requestLayers() {
        guard result == nil, var fetch = layerFetch else { return }
        let peers = connections.values.filter { $0.handshaken && candidates[$0.address]?.banned != true }.map(\.key)
        for (key, request) in fetch.requests(to: peers, now: .now) {
            connections[key]?.send([HashMessage.request(request).peerMessage])
        }
        layerFetch = fetch
    }

    /// Timeouts, keep-alives and requests.
    private func tick() {
        let now = ContinuousClock.now
        for key in layerFetch?.expire(now: now) ?? [] {
            logger.debug("hash request to \(connections[key]?.address.description ?? "a peer") expired")
        }
        for key in exchange.expire(now: now) {
            connections[key]?.timeouts += 1
            connections[key]?.rejectedAt = now  // rest a while before it is asked again
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
        requestLayers()
    }
}
