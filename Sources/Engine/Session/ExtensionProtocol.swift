import NIOCore

/// The extension protocol (BEP 10) of one torrent: our extension handshake, serving its metadata
/// (BEP 9) and peer exchange (BEP 11), decided on values for the session to carry out. No metadata or
/// peers are shared for a private torrent (BEP 27).
struct ExtensionProtocol {
    /// How btq names itself in `v`.
    static let clientName = "btq 0.1.0"
    /// How often a peer gets a PEX message (BEP 11: at most once a minute).
    static let pexInterval: Duration = .seconds(60)
    /// PEX messages from a peer closer together than this are ignored.
    static let minPexSpacing: Duration = .seconds(20)
    /// The most addresses learned through PEX that a session keeps as candidates.
    static let maxPexCandidates = 500

    /// The info dictionary's bytes, served to peers that ask for the metadata.
    let info: ArraySlice<UInt8>
    /// Whether metadata and peers may be shared (not for a private torrent).
    let sharesWithPeers: Bool
    /// The most metadata requests one connection may make (every piece a few times over); the peer is
    /// dropped past it.
    let maxMetadataRequests: Int

    /// The extension protocol of `metainfo`'s torrent.
    init(metainfo: Metainfo) {
        info = metainfo.infoByteSlice
        sharesWithPeers = !metainfo.isPrivate
        maxMetadataRequests = MetadataMessage.pieceCount(metadataSize: info.count) * 4 + 16
    }

    /// Our extension handshake to a peer at `address`.
    func handshake(
        listenPort: UInt16?, requestQueueLength: Int, to address: PeerAddress, uploadOnly: Bool
    ) -> ExtensionHandshake {
        var extensions: [String: UInt8] = [:]
        if sharesWithPeers {
            extensions[ExtensionHandshake.utMetadata] = LocalExtensionID.metadata
            extensions[ExtensionHandshake.utPex] = LocalExtensionID.pex
        }
        return ExtensionHandshake(
            extensions: extensions, clientName: Self.clientName, listenPort: listenPort,
            requestQueueLength: requestQueueLength, metadataSize: sharesWithPeers ? info.count : nil,
            yourIP: address.compact.map { Array($0.dropLast(2)) }, uploadOnly: uploadOnly)
    }

    /// What one extension message from a peer asks of the session.
    struct Received {
        /// Messages to send back to the peer.
        var replies: [PeerMessage] = []
        /// Addresses its PEX message named, to try (source `pex`).
        var learned: [PeerAddress] = []
        /// Why the peer broke the protocol, when it did: it is dropped.
        var misbehaved: String?
    }

    /// Handles one extension message under our id `id` from a peer whose state is `peer`. Messages
    /// under ids we did not hand out are ignored. `pexRoom` is how many more PEX addresses may be kept;
    /// `isKnown` tells addresses already among the candidates.
    func received(
        id: UInt8, payload: ByteBuffer, peer: inout PeerExtensionState, pexRoom: Int,
        now: ContinuousClock.Instant, isKnown: (PeerAddress) -> Bool
    ) -> Received {
        var result = Received()
        do throws(ExtensionMessageError) {
            switch id {
            case 0:
                peer.handshake = try ExtensionHandshake(decoding: payload.readableBytesView)
            case LocalExtensionID.metadata where sharesWithPeers:
                guard let message = try MetadataMessage.decode(payload.readableBytesView) else { return result }
                result.replies = serveMetadata(message, peer: &peer)
                // Past every piece a few times over the peer only makes us answer: dropped.
                if peer.metadataRequests > maxMetadataRequests {
                    result.misbehaved = "more than \(maxMetadataRequests) metadata requests"
                }
            case LocalExtensionID.pex where sharesWithPeers:
                let message = try PexMessage(decoding: payload.readableBytesView)
                if let last = peer.pexReceivedAt, now - last < Self.minPexSpacing { return result }
                peer.pexReceivedAt = now
                result.learned = Array(message.added.map(\.address).filter { !isKnown($0) }.prefix(max(0, pexRoom)))
            default:
                break
            }
        } catch {
            result.misbehaved = "extension protocol: \(error)"
        }
        return result
    }

    /// The answer to a metadata request from the info dictionary's bytes, or its rejection; nothing once
    /// the peer asked more than ``maxMetadataRequests`` times.
    private func serveMetadata(_ message: MetadataMessage, peer: inout PeerExtensionState) -> [PeerMessage] {
        guard case .request(let piece) = message, let theirID = peer.handshake?.id(of: ExtensionHandshake.utMetadata)
        else { return [] }
        let count = MetadataMessage.pieceCount(metadataSize: info.count)
        peer.metadataRequests += 1
        guard peer.metadataRequests <= maxMetadataRequests else { return [] }
        let reply: MetadataMessage
        if piece < count {
            let start = info.startIndex + piece * MetadataMessage.pieceLength
            let end = start + MetadataMessage.length(ofPiece: piece, metadataSize: info.count)
            reply = .data(piece: piece, totalSize: info.count, bytes: Array(info[start..<end]))
        } else {
            reply = .reject(piece: piece)
        }
        return [PeerMessage.extended(id: theirID, payload: ByteBuffer(bytes: reply.encoded()))]
    }

    /// The PEX message due now for a peer that speaks `ut_pex` (about once a minute): the connected
    /// peers (`connected`, by listen address) it has not heard of from us, and those that left since.
    /// `own` is the peer's own listen address, never sent to it. Records what was sent in `peer`.
    func peerExchange(
        for peer: inout PeerExtensionState, own: PeerAddress?, connected: [PeerAddress: PexMessage.Flags],
        now: ContinuousClock.Instant
    ) -> PeerMessage? {
        guard sharesWithPeers, let theirID = peer.handshake?.id(of: ExtensionHandshake.utPex) else { return nil }
        if let sent = peer.pexSentAt, now - sent < Self.pexInterval { return nil }
        let current = Set(connected.keys.filter { $0 != own })
        let advertised = peer.pexAdvertised
        let added = current.subtracting(advertised).sorted { $0.description < $1.description }
            .prefix(PexMessage.maxSent)
        let dropped = advertised.subtracting(current).sorted { $0.description < $1.description }
            .prefix(PexMessage.maxSent)
        guard !added.isEmpty || !dropped.isEmpty else { return nil }
        let message = PexMessage(
            added: added.map { PexMessage.Peer(address: $0, flags: connected[$0] ?? []) }, dropped: Array(dropped))
        peer.pexSentAt = now
        peer.pexAdvertised = advertised.union(added).subtracting(dropped)
        return PeerMessage.extended(id: theirID, payload: ByteBuffer(bytes: message.encoded()))
    }
}
