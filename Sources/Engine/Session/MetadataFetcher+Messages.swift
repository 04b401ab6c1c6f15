import NIOCore

/// What a metadata fetch's peers say: the BitTorrent handshake, then extension messages only (the
/// BEP 10 handshake, `ut_metadata` for the exchange, `ut_pex` for more addresses).
extension MetadataFetcher {
    /// Checks the peer's handshake; returns why to drop the peer, if so.
    func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String? {
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
            case .message(.unknown(let id, let payload)) where HashMessage.handles(id):
                if let problem = receivedHashMessage(id: id, payload: payload, from: key) {
                    return [.misbehaved(problem)]
                }
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
        requestLayers()
        return []
    }

    /// Hands a BEP 52 hash message to the layer fetch; returns why to drop the peer, if so: a malformed
    /// message, or hashes that do not prove out (either way the peer is banned too).
    private func receivedHashMessage(id: UInt8, payload: ByteBuffer, from key: PeerKey) -> String? {
        guard var fetch = layerFetch, let connection = connections[key] else { return nil }
        let message: HashMessage
        do {
            message = try HashMessage(id: id, payload: payload)
        } catch {
            // Hashes that break the codec's bounds are no proof either: the peer is banned like a liar.
            logger.info("banning \(connection.address): \(error)")
            candidates[connection.address]?.banned = true
            return "\(error)"
        }
        let reaction = fetch.received(message, from: key)
        layerFetch = fetch
        if case .lied(let why) = reaction {
            logger.info("banning \(connection.address): \(why)")
            candidates[connection.address]?.banned = true
            return why
        }
        if fetch.isComplete, let verified {
            logger.info("piece layers of \(fetch.pieceLayers.count) file(s) proved against their roots")
            finish(info: verified.info, sources: verified.sources, pieceLayers: fetch.pieceLayers)
        }
        return nil
    }

    /// Nothing is uploaded while fetching metadata.
    func uploadWritten(_ key: PeerKey, bytes: Int) {}

    /// ``received(_:from:)`` never asks for a block to be stored.
    nonisolated func storeBlock(_ request: BlockRequest, bytes: [UInt8], from key: PeerKey) async throws {
        throw PeerDropped(reason: "a block for a metadata fetch")
    }

    /// No download limit applies to metadata.
    nonisolated func readPause(after bytes: Int) -> Duration { .zero }

    /// Handles one extension message; returns why to drop the peer, if so.
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

    /// Hands a `ut_metadata` message to the exchange and does what it decides; returns why to drop the
    /// peer, if so.
    private func receivedMetadata(
        _ message: MetadataMessage, from key: PeerKey
    ) throws(ExtensionMessageError)
        -> String?
    {
        guard let connection = connections[key] else { return "gone" }
        switch try exchange.received(message, from: exchangePeer(connection, now: .now)) {
        case .nothing:
            break
        case .reply(let message):
            connection.send([message])
        case .rejected(let drop):
            connections[key]?.rejectedAt = .now
            connections[key]?.rejects += 1
            if let drop {
                candidates.failed(connection.address)
                return drop
            }
        case .checked(let verdict):
            apply(verdict)
        }
        return nil
    }
}
