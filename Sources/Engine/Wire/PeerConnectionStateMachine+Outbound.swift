import NIOCore

extension PeerConnectionStateMachine {
    /// Whether a request for a block of `piece` may be sent now: the peer has the piece and does
    /// not choke us, or lets us request it while choked (BEP 6 allowed fast).
    public func canRequest(_ piece: PieceIndex) -> Bool {
        guard peerPieces.contains(piece) else { return false }
        return !peerChoking || (configuration.fastExtension && allowedFastPieces.contains(piece))
    }

    /// Records a request to send and returns the message; `nil` (and nothing recorded) when
    /// ``canRequest(_:)`` is false, the block is empty, or the request is already outstanding.
    public mutating func request(_ request: BlockRequest, now: NIODeadline) -> PeerMessage? {
        guard request.length > 0, canRequest(request.piece), !outstandingRequests.contains(request) else {
            return nil
        }
        if outstandingRequests.isEmpty { requestsPendingSince = now }
        outstandingRequests.insert(request)
        cancelledRequests.remove(request)
        return .request(request)
    }

    /// Withdraws an outstanding request and returns the `cancel` to send; `nil` when it is not
    /// outstanding. A block or reject for it that is already on its way is still accepted.
    public mutating func cancel(_ request: BlockRequest) -> PeerMessage? {
        guard outstandingRequests.remove(request) != nil else { return nil }
        if outstandingRequests.isEmpty { requestsPendingSince = nil }
        if cancelledRequests.count >= configuration.maxCancelledRequests { cancelledRequests.removeFirst() }
        cancelledRequests.insert(request)
        return .cancel(request)
    }

    /// Sets our interest and returns `interested` or `not interested` when it changed, else `nil`.
    public mutating func setInterested(_ interested: Bool) -> PeerMessage? {
        guard amInterested != interested else { return nil }
        amInterested = interested
        return interested ? .interested : .notInterested
    }

    /// Chokes the peer and returns what to send: `choke`, then under the Fast extension a
    /// `reject request` for each queued request. Empty when the peer is choked already.
    /// Without the Fast extension the queued requests are silently discarded, as BEP 3 says.
    public mutating func choke() -> [PeerMessage] {
        guard !amChoking else { return [] }
        amChoking = true
        let queued = peerRequests.removeAll()
        let rejected = configuration.fastExtension ? queued.map(PeerMessage.rejectRequest) : []
        return [.choke] + rejected
    }

    /// Unchokes the peer and returns `unchoke`; `nil` when it is unchoked already.
    public mutating func unchoke() -> PeerMessage? {
        guard amChoking else { return nil }
        amChoking = false
        requestsWhileChoked = 0
        return .unchoke
    }

    /// Serves a block read for a request of the peer: returns the `piece` message to send and
    /// forgets the request, or `nil` when the request was cancelled or discarded by a choke
    /// meanwhile. `block` must hold exactly `request.length` bytes.
    public mutating func blockReady(for request: BlockRequest, block: ByteBuffer) -> PeerMessage? {
        precondition(block.readableBytes == Int(request.length), "a block must have the requested length")
        guard peerRequests.remove(request) else { return nil }
        return .piece(index: request.piece, begin: request.begin, block: block)
    }
}
