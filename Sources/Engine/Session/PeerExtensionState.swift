/// What a session knows about one peer's extension protocol (BEP 10) and what it told the peer.
struct PeerExtensionState {
    /// The peer's latest extension handshake, once one arrived.
    var handshake: ExtensionHandshake?
    /// Metadata pieces served to this peer so far (bounded: see ``ExtensionProtocol/maxMetadataRequests``).
    var metadataRequests = 0
    /// When we last sent the peer a PEX message; `nil` before the first.
    var pexSentAt: ContinuousClock.Instant?
    /// The peers our PEX messages told this peer about and that were still connected.
    var pexAdvertised: Set<PeerAddress> = []
    /// When the peer last sent us a PEX message.
    var pexReceivedAt: ContinuousClock.Instant?

    /// The peer's name for itself (`v`).
    var clientName: String? { handshake?.clientName }

    /// The most requests to keep outstanding at the peer: its `reqq`, if it gave one.
    var requestLimit: Int? { handshake?.requestQueueLength }
}

/// The ids under which btq receives extension messages (its `m` dictionary; libtorrent's numbers).
enum LocalExtensionID {
    /// `ut_pex`.
    static let pex: UInt8 = 1
    /// `ut_metadata`.
    static let metadata: UInt8 = 2
}

extension PeerSlot {
    /// The requests to keep outstanding: the pipeline's target, capped by the peer's `reqq`.
    var requestDepth: Int {
        guard let limit = extensions.requestLimit else { return pipeline.targetDepth }
        return max(1, min(pipeline.targetDepth, limit))
    }

    /// Where the peer accepts connections: the address we dialled, or for a peer that dialled us the
    /// port its extension handshake named; `nil` when unknown.
    var listenAddress: PeerAddress? {
        if source != .incoming { return address }
        guard let port = extensions.handshake?.listenPort else { return nil }
        return PeerAddress(host: address.host, port: port)
    }
}
