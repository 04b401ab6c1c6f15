import NIOCore

/// The protocol state of one peer connection after the handshake, as a pure value.
///
/// It performs no I/O: the owner (the swarm's connection task) feeds it each received message
/// through ``receive(_:now:)`` and performs the returned ``ReceiveAction``, and asks it before
/// sending (``request(_:now:)``, ``cancel(_:)``, ``choke()``, ...), which returns the message to
/// send or `nil` when there is nothing to send.
///
/// It tracks the four choke and interest flags, the peer's pieces, the requests we sent (so an
/// unrequested block or reject is caught), the requests the peer made to us, and the time of
/// the last block for snub detection. Rules enforced: BEP 3 (a bitfield only before other
/// state messages, in range, with clear spare bits), BEP 6 (Fast messages only when negotiated,
/// choke semantics, rejects) and BEP 10 (extended messages only when negotiated).
public struct PeerConnectionStateMachine: Sendable {
    private enum Availability: Sendable {
        /// No availability message yet and no message that closes the window.
        case open
        /// A bitfield, have all or have none arrived.
        case received
        /// Another state message came first; the peer has nothing it did not `have` since.
        case closed
    }

    /// The torrent and negotiated extensions.
    public let configuration: Configuration
    /// Whether we refuse to serve the peer. Connections start choked.
    public internal(set) var amChoking = true
    /// Whether we want pieces from the peer.
    public internal(set) var amInterested = false
    /// Whether the peer refuses to serve us.
    public internal(set) var peerChoking = true
    /// Whether the peer wants pieces from us.
    public internal(set) var peerInterested = false
    /// The pieces the peer has.
    public internal(set) var peerPieces: PeerBitfield
    /// Requests we sent that await a block (or, with the Fast extension, a reject).
    public internal(set) var outstandingRequests: Set<BlockRequest> = []
    /// Requests the peer made that we have not served yet, oldest first.
    public internal(set) var peerRequests = PeerRequestQueue()
    /// Pieces the peer lets us request while it chokes us (BEP 6).
    public internal(set) var allowedFastPieces: Set<PieceIndex> = []
    /// When the last requested block arrived.
    public internal(set) var lastBlockReceived: NIODeadline?
    /// When the last message of any kind arrived.
    public internal(set) var lastMessageReceived: NIODeadline?

    /// Requests the peer sent while we choked it, since we last unchoked it.
    var requestsWhileChoked = 0
    /// `have` messages for pieces the peer had already announced.
    var redundantHaves = 0
    /// Requests we cancelled whose block or reject may still be on its way.
    var cancelledRequests: Set<BlockRequest> = []
    /// Since when ``outstandingRequests`` has been non-empty without a block arriving.
    var requestsPendingSince: NIODeadline?
    private var availability = Availability.open

    /// A connection that just finished its handshake.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.peerPieces = PeerBitfield(count: configuration.pieceCount)
    }

    /// Whether the peer has been sent requests and has sent no block for longer than `timeout`.
    public func isSnubbed(now: NIODeadline, timeout: TimeAmount) -> Bool {
        guard !outstandingRequests.isEmpty, let since = requestsPendingSince else { return false }
        return now - since > timeout
    }

    /// Takes in one received message and says what to do about it.
    public mutating func receive(_ message: PeerMessage, now: NIODeadline) -> ReceiveAction {
        lastMessageReceived = now
        switch message {
        case .keepAlive, .port, .extended, .unknown, .bitfield, .haveAll, .haveNone, .suggestPiece, .allowedFast:
            break
        case .choke, .unchoke, .interested, .notInterested, .have, .request, .piece, .cancel, .rejectRequest:
            if availability == .open { availability = .closed }
        }
        switch message {
        case .keepAlive, .unknown:
            return .none
        case .choke:
            return receiveChoke()
        case .unchoke:
            guard peerChoking else { return .none }
            peerChoking = false
            return .peerUnchoked
        case .interested:
            guard !peerInterested else { return .none }
            peerInterested = true
            return .peerInterested
        case .notInterested:
            guard peerInterested else { return .none }
            peerInterested = false
            return .peerNotInterested
        case .have(let index):
            guard index.intValue < configuration.pieceCount else {
                let violation = PeerProtocolViolation.pieceIndexOutOfRange(
                    messageID: PeerMessage.ID.have,
                    index: index,
                    pieceCount: pieceCount
                )
                return .protocolViolation(violation)
            }
            if peerPieces.insert(index) { return .peerHasPiece(index) }
            redundantHaves += 1
            guard redundantHaves <= configuration.maxRedundantHaves else {
                return .protocolViolation(.redundantHaves(limit: configuration.maxRedundantHaves))
            }
            return .none
        case .bitfield(let bytes):
            return receiveAvailability(id: PeerMessage.ID.bitfield, bitfield(from: bytes))
        case .haveAll:
            return receiveAvailability(id: PeerMessage.ID.haveAll, .success(.full(count: pieceCount)))
        case .haveNone:
            return receiveAvailability(id: PeerMessage.ID.haveNone, .success(PeerBitfield(count: pieceCount)))
        case .request(let request):
            return receiveRequest(request)
        case .piece(let index, let begin, let block):
            return receiveBlock(index: index, begin: begin, block: block, now: now)
        case .cancel(let request):
            guard peerRequests.remove(request) else { return .none }
            return configuration.fastExtension ? .send(.rejectRequest(request)) : .peerCancelled(request)
        case .rejectRequest(let request):
            return receiveReject(request, now: now)
        case .port(let port):
            return .peerDHTPort(port)
        case .suggestPiece(let index):
            if let violation = checkFastPieceHint(id: PeerMessage.ID.suggestPiece, index: index) {
                return .protocolViolation(violation)
            }
            return .peerSuggestedPiece(index)
        case .allowedFast(let index):
            if let violation = checkFastPieceHint(id: PeerMessage.ID.allowedFast, index: index) {
                return .protocolViolation(violation)
            }
            allowedFastPieces.insert(index)
            return .peerAllowedFast(index)
        case .extended(let id, let payload):
            guard configuration.extensionProtocol else { return .protocolViolation(.extensionProtocolNotNegotiated) }
            return .extended(id: id, payload: payload)
        }
    }

    private var pieceCount: Int { configuration.pieceCount }

    private mutating func receiveChoke() -> ReceiveAction {
        let wasChoking = peerChoking
        peerChoking = true
        guard !configuration.fastExtension else { return wasChoking ? .none : .peerChoked(droppedRequests: []) }
        // Without the Fast extension a choke discards every request; a block sent before it has arrived already.
        let dropped = outstandingRequests.sorted()
        outstandingRequests.removeAll()
        cancelledRequests.removeAll()
        requestsPendingSince = nil
        return wasChoking && dropped.isEmpty ? .none : .peerChoked(droppedRequests: dropped)
    }

    private func bitfield(from bytes: ByteBuffer) -> Result<PeerBitfield, PeerProtocolViolation> {
        let expected = PeerBitfield.byteCount(forPieceCount: pieceCount)
        guard bytes.readableBytes == expected else {
            return .failure(.bitfieldLengthMismatch(expected: expected, actual: bytes.readableBytes))
        }
        guard let bitfield = PeerBitfield(bytes: bytes.readableBytesView, count: pieceCount) else {
            return .failure(.bitfieldSpareBitsSet)
        }
        return .success(bitfield)
    }

    private mutating func receiveAvailability(
        id: UInt8,
        _ result: Result<PeerBitfield, PeerProtocolViolation>
    ) -> ReceiveAction {
        if id != PeerMessage.ID.bitfield, !configuration.fastExtension {
            return .protocolViolation(.fastExtensionNotNegotiated(messageID: id))
        }
        guard availability == .open else { return .protocolViolation(.misplacedAvailability(messageID: id)) }
        switch result {
        case .success(let bitfield):
            availability = .received
            peerPieces = bitfield
            return .peerBitfield(bitfield)
        case .failure(let violation):
            return .protocolViolation(violation)
        }
    }

    private mutating func receiveRequest(_ request: BlockRequest) -> ReceiveAction {
        let end = UInt64(request.begin) + UInt64(request.length)
        guard request.piece.intValue < pieceCount, request.length > 0,
            request.length <= configuration.maxRequestLength, end <= UInt64(configuration.pieceLength)
        else { return .protocolViolation(.invalidRequest(request)) }
        let refused: ReceiveAction = configuration.fastExtension ? .send(.rejectRequest(request)) : .none
        // Requests that cross a choke are normal (BEP 3): refused, or ignored without the Fast extension;
        // a peer that keeps asking is dropped.
        guard !amChoking else {
            requestsWhileChoked += 1
            guard requestsWhileChoked <= configuration.maxRequestsWhileChoked else {
                return .protocolViolation(.requestsWhileChoked(limit: configuration.maxRequestsWhileChoked))
            }
            return refused
        }
        guard !peerRequests.contains(request) else { return .none }
        guard peerRequests.count < configuration.maxPeerRequests else {
            // We announce the limit (`reqq`); a peer past it is refused under the Fast extension and
            // dropped without it, where a refusal does not exist and silence would stall it.
            guard configuration.fastExtension else {
                return .protocolViolation(.tooManyRequests(limit: configuration.maxPeerRequests))
            }
            return refused
        }
        peerRequests.append(request)
        return .peerRequested(request)
    }

    private mutating func receiveBlock(
        index: PieceIndex,
        begin: UInt32,
        block: ByteBuffer,
        now: NIODeadline
    ) -> ReceiveAction {
        let request = BlockRequest(piece: index, begin: begin, length: UInt32(truncatingIfNeeded: block.readableBytes))
        guard block.readableBytes <= Int(UInt32.max),
            outstandingRequests.remove(request) != nil || cancelledRequests.remove(request) != nil
        else { return .protocolViolation(.unrequestedBlock(request)) }
        lastBlockReceived = now
        requestsPendingSince = outstandingRequests.isEmpty ? nil : now
        return .blockReceived(request, block: block)
    }

    private mutating func receiveReject(_ request: BlockRequest, now: NIODeadline) -> ReceiveAction {
        guard configuration.fastExtension else {
            return .protocolViolation(.fastExtensionNotNegotiated(messageID: PeerMessage.ID.rejectRequest))
        }
        if outstandingRequests.remove(request) != nil {
            if outstandingRequests.isEmpty { requestsPendingSince = nil }
            return .requestRejected(request)
        }
        if cancelledRequests.remove(request) != nil { return .none }
        return .protocolViolation(.unrequestedReject(request))
    }

    private func checkFastPieceHint(id: UInt8, index: PieceIndex) -> PeerProtocolViolation? {
        guard configuration.fastExtension else { return .fastExtensionNotNegotiated(messageID: id) }
        guard index.intValue < pieceCount else {
            return .pieceIndexOutOfRange(messageID: id, index: index, pieceCount: pieceCount)
        }
        return nil
    }
}
