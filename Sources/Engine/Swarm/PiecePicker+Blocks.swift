/// What the session should do with a block that arrived.
public struct BlockArrival: Hashable, Sendable {
    /// True when the bytes are new and wanted: write them, then call
    /// ``PiecePicker/blockWritten(_:)``. False for duplicates, unrequested blocks of unwanted pieces
    /// and malformed requests: drop the bytes.
    public var isAccepted: Bool
    /// Requests of the same block sent to other peers (endgame), to cancel now.
    public var cancels: [PeerBlockRequest]

    /// Creates an outcome.
    public init(isAccepted: Bool, cancels: [PeerBlockRequest] = []) {
        self.isAccepted = isAccepted
        self.cancels = cancels
    }
}

extension PiecePicker {
    /// A `piece` message for `request` arrived from `peer`.
    public mutating func blockReceived(_ request: BlockRequest, from peer: PeerKey) -> BlockArrival {
        guard let block = layout.block(for: request) else { return BlockArrival(isAccepted: false) }
        dropOutstanding(request, of: peer)
        let piece = request.piece.value
        guard !have[piece] else { return BlockArrival(isAccepted: false) }
        if downloading[piece] == nil {
            guard priorities[piece] > 0 else { return BlockArrival(isAccepted: false) }
            start(piece)  // unrequested but wanted: keep it
        }
        var cancels: [PeerBlockRequest] = []
        switch downloading[piece]![block.value] {
        case .none:
            break
        case .requested(let peers):
            for other in peers where other != peer {
                dropOutstanding(request, of: other)
                cancels.append(PeerBlockRequest(peer: other, request: request))
            }
        case .received, .written:
            return BlockArrival(isAccepted: false)
        }
        downloading[piece]![block.value] = .received(from: peer)
        return BlockArrival(isAccepted: true, cancels: cancels)
    }

    /// The bytes of an accepted block are in the files. Returns true when this completes the piece:
    /// hash it, then call ``pieceVerified(_:)`` or ``pieceFailed(_:)``.
    public mutating func blockWritten(_ request: BlockRequest) -> Bool {
        guard let block = layout.block(for: request), var state = downloading[request.piece.value],
            case .received(let source) = state[block.value]
        else { return false }
        state[block.value] = .written(from: source)
        downloading[request.piece.value] = state
        return state.isComplete
    }

    /// Writing an accepted block failed: the block is free to be requested again.
    public mutating func blockWriteFailed(_ request: BlockRequest) {
        guard let block = layout.block(for: request), downloading[request.piece.value] != nil,
            case .received = downloading[request.piece.value]![block.value]
        else { return }
        downloading[request.piece.value]![block.value] = .none
    }

    /// A request to `peer` ended without data (rejected, timed out, cancelled by us, or choked
    /// away): the block is free again unless other peers still have it requested.
    public mutating func requestFailed(_ request: BlockRequest, peer: PeerKey) {
        dropOutstanding(request, of: peer)
        guard let block = layout.block(for: request), downloading[request.piece.value] != nil,
            case .requested(let peers) = downloading[request.piece.value]![block.value]
        else { return }
        let remaining = peers.filter { $0 != peer }
        downloading[request.piece.value]![block.value] = remaining.isEmpty ? .none : .requested(by: remaining)
    }

    /// `peer` disconnected (or choked us and dropped our requests): every block requested from it goes
    /// back to the pool. Returns those requests, in piece and offset order. Availability is separate:
    /// also call the matching `removeAvailability` or ``removeSeed()``.
    @discardableResult
    public mutating func peerDisconnected(_ peer: PeerKey) -> [BlockRequest] {
        let requests = (outstanding[peer] ?? []).sorted { ($0.piece, $0.begin) < ($1.piece, $1.begin) }
        for request in requests { requestFailed(request, peer: peer) }
        outstanding[peer] = nil
        return requests
    }

    /// `piece` passed its hash check (or was found complete when resuming). Returns requests still
    /// outstanding for its blocks, to cancel.
    @discardableResult
    public mutating func pieceVerified(_ piece: PieceIndex) -> [PeerBlockRequest] {
        let index = piece.value
        guard !have[index] else { return [] }
        var cancels: [PeerBlockRequest] = []
        if let state = downloading[index] {
            for block in 0..<state.blocks.count {
                guard case .requested(let peers) = state[block] else { continue }
                let request = layout.request(piece: piece, block: BlockIndex(block))
                for peer in peers {
                    dropOutstanding(request, of: peer)
                    cancels.append(PeerBlockRequest(peer: peer, request: request))
                }
            }
            finish(index)
        }
        if isIndexed(index) { levels[Int(priorities[index])]!.remove(index) }
        have[index] = true
        haveCount += 1
        if priorities[index] > 0 { wantedMissingCount -= 1 }
        return cancels
    }

    /// `piece` failed its hash check: all its blocks go back to the pool (the piece stays started, so
    /// it is fetched again before new pieces). Returns the peers that sent its blocks, to blame.
    @discardableResult
    public mutating func pieceFailed(_ piece: PieceIndex) -> [PeerKey] {
        guard var state = downloading[piece.value] else { return [] }
        var sources: Set<PeerKey> = []
        for block in 0..<state.blocks.count {
            if let source = state[block].source { sources.insert(source) }
            if case .requested(let peers) = state[block] {
                let request = layout.request(piece: piece, block: BlockIndex(block))
                for peer in peers { dropOutstanding(request, of: peer) }
            }
        }
        state.reset()
        downloading[piece.value] = state
        return sources.sorted()
    }

    /// Restores blocks a previous run wrote (from the resume journal). Returns true when the piece is
    /// now complete and should be hashed.
    @discardableResult
    public mutating func restoreWrittenBlocks(_ blocks: some Sequence<BlockIndex>, in piece: PieceIndex) -> Bool {
        let index = piece.value
        guard !have[index] else { return false }
        if downloading[index] == nil { start(index) }
        for block in blocks {
            guard case .none = downloading[index]![block.value] else { continue }
            downloading[index]![block.value] = .written(from: nil)
        }
        return downloading[index]!.isComplete
    }

    private mutating func dropOutstanding(_ request: BlockRequest, of peer: PeerKey) {
        guard outstanding[peer]?.remove(request) != nil else { return }
        if outstanding[peer]!.isEmpty { outstanding[peer] = nil }
    }
}
