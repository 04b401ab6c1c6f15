import NIOCore

/// The extension protocol (BEP 10) in a session: the extension handshake, serving metadata (BEP 9)
/// and peer exchange (BEP 11). No metadata or peers are shared for a private torrent (BEP 27).
extension TorrentSession {
    /// How btq names itself in `v`.
    static let clientName = "btq 0.1.0"
    /// How often a peer gets a PEX message (BEP 11: at most once a minute).
    static let pexInterval: Duration = .seconds(60)
    /// PEX messages from a peer closer together than this are ignored.
    static let minPexSpacing: Duration = .seconds(20)
    /// The most addresses learned through PEX that a session keeps as candidates.
    static let maxPexCandidates = 500

    /// Whether metadata and peers may be shared for this torrent.
    var sharesWithPeers: Bool { !metainfo.isPrivate }

    /// The most metadata requests one connection may make (every piece a few times over); the peer is
    /// dropped past it.
    var maxMetadataRequests: Int { MetadataMessage.pieceCount(metadataSize: metainfo.infoByteSlice.count) * 4 + 16 }

    /// Our extension handshake for the peer in `slot`.
    func extensionHandshake(for slot: PeerSlot) -> ExtensionHandshake {
        var extensions: [String: UInt8] = [:]
        if sharesWithPeers {
            extensions[ExtensionHandshake.utMetadata] = LocalExtensionID.metadata
            extensions[ExtensionHandshake.utPex] = LocalExtensionID.pex
        }
        return ExtensionHandshake(
            extensions: extensions, clientName: Self.clientName, listenPort: configuration.advertisedPort,
            requestQueueLength: slot.machine.configuration.maxPeerRequests,
            metadataSize: sharesWithPeers ? metainfo.infoByteSlice.count : nil,
            yourIP: slot.address.compact.map { Array($0.dropLast(2)) }, uploadOnly: picker.isComplete)
    }

    /// Sends our extension handshake right after the handshake, when both sides speak BEP 10.
    func sendExtensionHandshake(_ key: PeerKey) {
        guard let slot = peers[key], slot.handshaken, slot.machine.configuration.extensionProtocol else { return }
        let payload = ByteBuffer(bytes: extensionHandshake(for: slot).encoded())
        slot.send([PeerMessage.extended(id: 0, payload: payload)])
    }

    /// Handles one extension message from the peer in `slot`; returns a disconnect for a peer that broke
    /// the extension protocol. Messages under ids we did not hand out are ignored.
    func receivedExtended(id: UInt8, payload: ByteBuffer, slot: inout PeerSlot) -> ReaderStep {
        do throws(ExtensionMessageError) {
            switch id {
            case 0:
                let handshake = try ExtensionHandshake(decoding: payload.readableBytesView)
                slot.extensions.handshake = handshake
            case LocalExtensionID.metadata where sharesWithPeers:
                guard let message = try MetadataMessage.decode(payload.readableBytesView) else { return .proceed }
                serveMetadata(message, slot: &slot)
                // Past every piece a few times over the peer only makes us answer: dropped.
                if slot.extensions.metadataRequests > maxMetadataRequests {
                    return .misbehaved("more than \(maxMetadataRequests) metadata requests")
                }
            case LocalExtensionID.pex where sharesWithPeers:
                let message = try PexMessage(decoding: payload.readableBytesView)
                receivedPex(message, slot: &slot)
            default:
                break
            }
        } catch {
            return .misbehaved("extension protocol: \(error)")
        }
        return .proceed
    }

    /// Answers a metadata request from the info dictionary's bytes, or rejects it.
    private func serveMetadata(_ message: MetadataMessage, slot: inout PeerSlot) {
        guard case .request(let piece) = message, let theirID = slot.extensions.handshake?.id(of: "ut_metadata")
        else { return }
        let info = metainfo.infoByteSlice
        let count = MetadataMessage.pieceCount(metadataSize: info.count)
        slot.extensions.metadataRequests += 1
        let reply: MetadataMessage
        guard slot.extensions.metadataRequests <= maxMetadataRequests else { return }
        if piece < count {
            let start = info.startIndex + piece * MetadataMessage.pieceLength
            let end = start + MetadataMessage.length(ofPiece: piece, metadataSize: info.count)
            reply = .data(piece: piece, totalSize: info.count, bytes: Array(info[start..<end]))
        } else {
            reply = .reject(piece: piece)
        }
        slot.send([PeerMessage.extended(id: theirID, payload: ByteBuffer(bytes: reply.encoded()))])
    }

    /// Takes the peers a PEX message names as candidates (source `pex`), within bounds.
    private func receivedPex(_ message: PexMessage, slot: inout PeerSlot) {
        let now = ContinuousClock.now
        if let last = slot.extensions.pexReceivedAt, now - last < Self.minPexSpacing { return }
        slot.extensions.pexReceivedAt = now
        let room = max(0, Self.maxPexCandidates - candidates.pexCount)
        let fresh = message.added.map(\.address).filter { candidates[$0] == nil }.prefix(room)
        guard !fresh.isEmpty else { return }
        logger.debug("PEX from \(slot.address): \(fresh.count) new peer(s)")
        addPeers(Array(fresh), source: .pex)
    }

    /// A peer that dialled us and named its listen port (`p`) may be dialled back once it left.
    func rememberListenAddress(of slot: PeerSlot) {
        guard slot.source == .incoming, slot.handshaken, let address = slot.listenAddress, address != slot.address,
            candidates[address] == nil, candidates[slot.address]?.banned != true
        else { return }
        candidates[address] = PeerCandidate(
            address: address, source: .incoming, nextAttempt: .now + configuration.reconnectDelay)
    }

    /// Sends each peer that speaks `ut_pex` the connected peers it has not heard of from us and those
    /// that left, about once a minute. Never for a private torrent.
    func sendPeerExchange() {
        guard sharesWithPeers else { return }
        let now = ContinuousClock.now
        var connected: [PeerAddress: PexMessage.Flags] = [:]
        for slot in peers.values where slot.handshaken {
            guard let address = slot.listenAddress, address.compact != nil else { continue }
            var flags: PexMessage.Flags = slot.source == .incoming ? [] : .reachable
            if slot.isSeed { flags.insert(.seed) }
            connected[address] = flags
        }
        for (key, slot) in peers where slot.handshaken {
            guard let theirID = slot.extensions.handshake?.id(of: ExtensionHandshake.utPex) else { continue }
            if let sent = slot.extensions.pexSentAt, now - sent < Self.pexInterval { continue }
            let own = slot.listenAddress
            let current = Set(connected.keys.filter { $0 != own })
            let advertised = slot.extensions.pexAdvertised
            let added = current.subtracting(advertised).sorted { $0.description < $1.description }
                .prefix(PexMessage.maxSent)
            let dropped = advertised.subtracting(current).sorted { $0.description < $1.description }
                .prefix(PexMessage.maxSent)
            guard !added.isEmpty || !dropped.isEmpty else { continue }
            let message = PexMessage(
                added: added.map { PexMessage.Peer(address: $0, flags: connected[$0] ?? []) }, dropped: Array(dropped))
            peers[key]?.extensions.pexSentAt = now
            peers[key]?.extensions.pexAdvertised = advertised.union(added).subtracting(dropped)
            slot.send([PeerMessage.extended(id: theirID, payload: ByteBuffer(bytes: message.encoded()))])
        }
    }
}
