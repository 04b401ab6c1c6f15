import NIOCore

/// One connection of a ``MetadataFetcher``: what the peer announced (its `ut_metadata` id and
/// `metadata_size`), how it answered our requests, and the deadlines it must keep. The fetcher asks
/// it whether the peer may be asked for a piece now, and what to do with the connection at a tick.
struct MetadataPeer {
    let key: PeerKey
    let address: PeerAddress
    let channel: any Channel
    let outbox: PeerOutbox
    let connectedAt: ContinuousClock.Instant
    /// Its BitTorrent handshake arrived and was accepted.
    var handshaken = false
    var peerId: [UInt8]?
    var handshakenAt: ContinuousClock.Instant?
    /// Its extension handshake (BEP 10), once it arrived.
    var extensions: ExtensionHandshake?
    /// When it last rejected or let expire one of our requests: it rests a while before it is asked again.
    var rejectedAt: ContinuousClock.Instant?
    /// Metadata requests it rejected.
    var rejects = 0
    /// Metadata requests it let expire.
    var timeouts = 0
    var lastKeepAliveSent: ContinuousClock.Instant

    /// Requests it may let expire before it is dropped.
    static let timeoutsToDrop = 3
    /// Silence after which a keep-alive is sent.
    static let keepAliveInterval = Duration.seconds(90)

    init(key: PeerKey, address: PeerAddress, channel: any Channel, outbox: PeerOutbox, now: ContinuousClock.Instant) {
        self.key = key
        self.address = address
        self.channel = channel
        self.outbox = outbox
        self.connectedAt = now
        self.lastKeepAliveSent = now
    }

    func send(_ messages: [PeerMessage]) {
        outbox.send(messages)
    }

    /// Its `ut_metadata` message id, once it announced one.
    var metadataId: UInt8? { extensions?.id(of: ExtensionHandshake.utMetadata) }

    /// The metadata size it announced with `ut_metadata`, when it says it has the metadata.
    var announcedSize: Int? { metadataId == nil ? nil : extensions?.metadataSize }

    /// Whether it may be asked for a piece at `now`: it announced `ut_metadata` and a size, and rejected
    /// nothing (nor let anything expire) within the last `rest`.
    func canBeAsked(now: ContinuousClock.Instant, rest: Duration) -> Bool {
        guard handshaken, announcedSize != nil else { return false }
        if let rejectedAt, now - rejectedAt < rest { return false }
        return true
    }

    /// What a tick does with the connection.
    enum Upkeep: Equatable {
        case nothing
        /// Send a keep-alive (and note it sent).
        case keepAlive
        /// Close it: a handshake did not come in time, or too many requests expired.
        case close(String)
    }

    /// What is due at `now`, given how long each handshake may take.
    func upkeep(now: ContinuousClock.Instant, handshakeTimeout: Duration) -> Upkeep {
        if !handshaken, now - connectedAt > handshakeTimeout { return .close("no handshake") }
        if let handshakenAt, extensions == nil, now - handshakenAt > handshakeTimeout {
            return .close("no extension handshake: it will not send metadata")
        }
        if timeouts >= Self.timeoutsToDrop { return .close("let \(timeouts) metadata requests expire") }
        if now - lastKeepAliveSent > Self.keepAliveInterval { return .keepAlive }
        return .nothing
    }

    /// Our extension handshake for this peer: `ut_metadata` and `ut_pex`, our port, and its address as we
    /// see it.
    func extensionHandshake(listenPort: UInt16?) -> PeerMessage {
        let handshake = ExtensionHandshake(
            extensions: [
                ExtensionHandshake.utMetadata: LocalExtensionID.metadata,
                ExtensionHandshake.utPex: LocalExtensionID.pex,
            ],
            clientName: ExtensionProtocol.clientName, listenPort: listenPort, requestQueueLength: 500,
            yourIP: address.compact.map { Array($0.dropLast(2)) })
        return .extended(id: 0, payload: ByteBuffer(bytes: handshake.encoded()))
    }
}
