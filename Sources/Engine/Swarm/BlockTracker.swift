/// The blocks of the pieces in progress: for each, which blocks are free, requested (from which
/// peers), received or written, and for each peer the requests it still owes. A plain value that
/// ``PiecePicker`` owns and mutates in place.
///
/// It decides what happens to one block: a request made or duplicated (endgame), data that arrived
/// (and which duplicate requests to cancel), a write that finished or failed, a request that ended
/// without data, a peer that left, a piece that failed its hash check. Which pieces to start, and
/// whether a piece is wanted or already verified, is the picker's.
struct BlockTracker: Sendable {
    /// The piece geometry.
    let layout: PieceLayout
    /// Pieces in progress by raw index.
    private(set) var downloading: [Int: DownloadingPiece] = [:]
    /// The keys of ``downloading`` in the order the pieces were started.
    private(set) var startOrder: [Int] = []
    /// Per peer: the blocks requested from it and not yet received, failed or cancelled.
    private(set) var outstanding: [PeerKey: Set<BlockRequest>] = [:]
    /// The free blocks (state `.none`) of all pieces in progress, kept in step with each change, so a
    /// pick knows without a scan when no started piece has a block to give.
    private(set) var freeBlocks = 0

    /// No piece in progress.
    init(layout: PieceLayout) {
        self.layout = layout
    }

    // MARK: - Pieces

    /// True when `piece` is in progress.
    func isStarted(_ piece: Int) -> Bool { downloading.index(forKey: piece) != nil }  // no copy of the piece's state

    /// The free blocks of `piece`, which must be in progress.
    func freeCount(of piece: Int) -> Int { downloading[piece]!.freeCount }

    /// Marks `piece` as in progress, every block free.
    mutating func start(_ piece: Int) {
        precondition(downloading[piece] == nil, "piece \(piece) already started")
        let blockCount = layout.blockCount(in: PieceIndex(piece))
        downloading[piece] = DownloadingPiece(blockCount: blockCount)
        freeBlocks += blockCount
        startOrder.append(piece)
    }

    /// Forgets `piece` (verified): returns the requests still outstanding for its blocks, to cancel.
    mutating func finish(_ piece: Int) -> [PeerBlockRequest] {
        guard let state = downloading.removeValue(forKey: piece) else { return [] }
        freeBlocks -= state.freeCount
        startOrder.removeAll { $0 == piece }
        var cancels: [PeerBlockRequest] = []
        for block in 0..<state.blocks.count {
            guard case .requested(let peers) = state[block] else { continue }
            let request = layout.request(piece: PieceIndex(piece), block: BlockIndex(block))
            for peer in peers {
                dropOutstanding(request, of: peer)
                cancels.append(PeerBlockRequest(peer: peer, request: request))
            }
        }
        return cancels
    }

    /// The blocks of `piece` already in the files.
    func writtenBlocks(in piece: PieceIndex) -> [BlockIndex] {
        guard let blocks = downloading[piece.value]?.blocks else { return [] }
        return blocks.indices.filter { if case .written = blocks[$0] { true } else { false } }.map { BlockIndex($0) }
    }

    // MARK: - Requests

    /// Requests free blocks of `piece` from `peer`, in order, until `picked` holds `limit` requests.
    mutating func takeFreeBlocks(of piece: Int, for peer: PeerKey, into picked: inout [BlockRequest], limit: Int) {
        guard var state = downloading[piece] else { return }
        downloading[piece] = nil  // avoid copy-on-write while mutating
        defer { downloading[piece] = state }
        for block in 0..<state.blocks.count where picked.count < limit {
            guard case .none = state[block] else { continue }
            state[block] = .requested(by: [peer])
            freeBlocks -= 1
            let request = layout.request(piece: PieceIndex(piece), block: BlockIndex(block))
            outstanding[peer, default: []].insert(request)
            picked.append(request)
        }
    }

    /// Endgame: requests from `peer` blocks already requested from others (up to `maxRequesters`
    /// peers per block), least-requested blocks first, in the pieces in progress that `isEligible`
    /// accepts, until `picked` holds `limit` requests.
    mutating func takeRequestedBlocks(
        for peer: PeerKey, into picked: inout [BlockRequest], limit: Int, maxRequesters: Int,
        isEligible: (Int) -> Bool
    ) {
        // Only a block requested from another peer can be requested again: none when no other peer owes
        // anything (one peer, in the endgame of every download from a single seed). Checked first, as
        // this runs at every pick of the endgame, and a scan of the pieces costs per piece in progress.
        guard outstanding.keys.contains(where: { $0 != peer }) else { return }
        func takes(_ state: BlockState, requesters: Int) -> Bool {
            guard case .requested(let peers) = state else { return false }
            return peers.count == requesters && !peers.contains(peer)
        }
        for requesters in 1..<max(1, maxRequesters) {
            for piece in startOrder where isEligible(piece) {
                // Taken out of the table only when it has a block to take (a change in place, no copy).
                guard downloading[piece]?.blocks.contains(where: { takes($0, requesters: requesters) }) == true,
                    var state = downloading.removeValue(forKey: piece)
                else { continue }
                for block in 0..<state.blocks.count where picked.count < limit {
                    guard takes(state[block], requesters: requesters), case .requested(let peers) = state[block]
                    else { continue }
                    state[block] = .requested(by: peers + [peer])
                    let request = layout.request(piece: PieceIndex(piece), block: BlockIndex(block))
                    outstanding[peer, default: []].insert(request)
                    picked.append(request)
                }
                downloading[piece] = state
                if picked.count == limit { return }
            }
        }
    }

    // MARK: - Blocks

    /// `block` of `request`'s piece, which is in progress, arrived from `peer`: accepted unless it
    /// was already received or written; requests of it sent to other peers are returned to cancel.
    /// The request to `peer` must already be dropped (``dropOutstanding(_:of:)``).
    mutating func receive(_ request: BlockRequest, block: BlockIndex, from peer: PeerKey) -> BlockArrival {
        // The piece's state is changed in place (the piece is in progress: the caller checked).
        let arrival = downloading.modifyValue(forKey: request.piece.value) { $0.receive(block.value, from: peer) }
        guard let before = arrival! else {
            return BlockArrival(isAccepted: false)
        }
        var cancels: [PeerBlockRequest] = []
        switch before {
        case .none:
            freeBlocks -= 1
        case .requested(let peers):
            for other in peers where other != peer {
                dropOutstanding(request, of: other)
                cancels.append(PeerBlockRequest(peer: other, request: request))
            }
        case .received, .written:
            break  // refused above
        }
        return BlockArrival(isAccepted: true, cancels: cancels)
    }

    /// A received block is in the files. Returns true when this completes its piece.
    ///
    /// Mutated in place: a copy of the piece's state taken out of the dictionary and put back was a copy
    /// of all its blocks' states per block written, quadratic in the blocks of a piece (with 16 MiB
    /// pieces, 1,024 blocks, a sixth of a download's CPU time).
    mutating func written(_ request: BlockRequest) -> Bool {
        guard let block = layout.block(for: request) else { return false }
        return downloading.modifyValue(forKey: request.piece.value) { $0.write(block.value) } ?? false
    }

    /// Writing a received block failed: it is free again.
    mutating func writeFailed(_ request: BlockRequest) {
        guard let block = layout.block(for: request), downloading[request.piece.value] != nil,
            case .received = downloading[request.piece.value]![block.value]
        else { return }
        downloading[request.piece.value]![block.value] = .none
        freeBlocks += 1
    }

    /// The request to `peer` ended without data: the block is free again unless other peers still
    /// have it requested.
    mutating func requestFailed(_ request: BlockRequest, peer: PeerKey) {
        dropOutstanding(request, of: peer)
        guard let block = layout.block(for: request), downloading[request.piece.value] != nil,
            case .requested(let peers) = downloading[request.piece.value]![block.value]
        else { return }
        let remaining = peers.filter { $0 != peer }
        downloading[request.piece.value]![block.value] = remaining.isEmpty ? .none : .requested(by: remaining)
        if remaining.isEmpty { freeBlocks += 1 }
    }

    /// `peer` left: every block requested from it goes back to the pool. Returns those requests, in
    /// piece and offset order.
    mutating func peerDisconnected(_ peer: PeerKey) -> [BlockRequest] {
        let requests = (outstanding[peer] ?? []).sorted { ($0.piece, $0.begin) < ($1.piece, $1.begin) }
        for request in requests { requestFailed(request, peer: peer) }
        outstanding[peer] = nil
        return requests
    }

    /// `piece` failed its hash check: all its blocks are free again and it stays in progress.
    /// Returns the peers that sent its blocks.
    mutating func pieceFailed(_ piece: PieceIndex) -> [PeerKey] {
        guard var state = downloading[piece.value] else { return [] }
        var sources: Set<PeerKey> = []
        for block in 0..<state.blocks.count {
            if let source = state[block].source { sources.insert(source) }
            if case .requested(let peers) = state[block] {
                let request = layout.request(piece: piece, block: BlockIndex(block))
                for peer in peers { dropOutstanding(request, of: peer) }
            }
        }
        freeBlocks += state.blocks.count - state.freeCount
        state.reset()
        downloading[piece.value] = state
        return sources.sorted()
    }

    /// Written `blocks` of `piece`, which is in progress, are free again (found bad one by one).
    mutating func blocksFailed(_ blocks: [BlockIndex], in piece: Int) {
        guard downloading[piece] != nil else { return }
        for block in blocks where block.value < downloading[piece]!.blocks.count {
            guard case .written = downloading[piece]![block.value] else { continue }
            downloading[piece]![block.value] = .none
            freeBlocks += 1
        }
    }

    /// Marks `blocks` of `piece`, which is in progress, as written by a previous run (those that are
    /// free). Returns true when the piece is then complete.
    mutating func restoreWritten(_ blocks: some Sequence<BlockIndex>, in piece: Int) -> Bool {
        for block in blocks {
            guard case .none = downloading[piece]![block.value] else { continue }
            downloading[piece]![block.value] = .written(from: nil)
            freeBlocks -= 1
        }
        return downloading[piece]!.isComplete
    }

    /// Forgets the request to `peer`, if it is outstanding.
    mutating func dropOutstanding(_ request: BlockRequest, of peer: PeerKey) {
        // The set is changed in place; the peer is forgotten once it owes no other block.
        guard outstanding.modifyValue(forKey: peer, { $0.removeLeavingEmpty(request) }) == true else { return }
        outstanding[peer] = nil
    }
}

extension Set<BlockRequest> {
    /// Removes `request`; true when that left the set empty.
    fileprivate mutating func removeLeavingEmpty(_ request: BlockRequest) -> Bool {
        remove(request) != nil && isEmpty
    }
}
