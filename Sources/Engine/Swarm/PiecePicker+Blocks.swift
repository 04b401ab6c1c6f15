extension PiecePicker {
    /// A `piece` message for `request` arrived from `peer`.
    public mutating func blockReceived(_ request: BlockRequest, from peer: PeerKey) -> BlockArrival {
        guard let block = layout.block(for: request) else { return BlockArrival(isAccepted: false) }
        blocks.dropOutstanding(request, of: peer)
        let piece = request.piece.value
        guard !have[piece] else { return BlockArrival(isAccepted: false) }
        if !blocks.isStarted(piece) {
            guard priorities[piece] > 0 else { return BlockArrival(isAccepted: false) }
            blocks.start(piece)  // unrequested but wanted: keep it
        }
        return blocks.receive(request, block: block, from: peer)
    }

    /// The bytes of an accepted block are in the files. Returns true when this completes the piece:
    /// hash it, then call ``pieceVerified(_:)`` or ``pieceFailed(_:)``.
    public mutating func blockWritten(_ request: BlockRequest) -> Bool {
        blocks.written(request)
    }

    /// Writing an accepted block failed: the block is free to be requested again.
    public mutating func blockWriteFailed(_ request: BlockRequest) {
        blocks.writeFailed(request)
    }

    /// A request to `peer` ended without data (rejected, timed out, cancelled by us, or choked
    /// away): the block is free again unless other peers still have it requested.
    public mutating func requestFailed(_ request: BlockRequest, peer: PeerKey) {
        blocks.requestFailed(request, peer: peer)
    }

    /// `peer` disconnected (or choked us and dropped our requests): every block requested from it goes
    /// back to the pool. Returns those requests, in piece and offset order. Availability is separate:
    /// also call the matching `removeAvailability` or ``removeSeed()``.
    @discardableResult
    public mutating func peerDisconnected(_ peer: PeerKey) -> [BlockRequest] {
        blocks.peerDisconnected(peer)
    }

    /// `piece` passed its hash check (or was found complete when resuming). Returns requests still
    /// outstanding for its blocks, to cancel.
    @discardableResult
    public mutating func pieceVerified(_ piece: PieceIndex) -> [PeerBlockRequest] {
        let index = piece.value
        guard !have[index] else { return [] }
        let cancels = blocks.finish(index)
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
        blocks.pieceFailed(piece)
    }

    /// Blocks of `piece` (all written, the piece failed its hash) turned out bad on their own: they go
    /// back to the pool, the piece's other blocks stay written.
    public mutating func blocksFailed(_ failed: [BlockIndex], in piece: PieceIndex) {
        blocks.blocksFailed(failed, in: piece.value)
    }

    /// Restores blocks a previous run wrote (from the resume journal). Returns true when the piece is
    /// now complete and should be hashed.
    @discardableResult
    public mutating func restoreWrittenBlocks(_ blocks: some Sequence<BlockIndex>, in piece: PieceIndex) -> Bool {
        let index = piece.value
        guard !have[index] else { return false }
        if !self.blocks.isStarted(index) { self.blocks.start(index) }
        return self.blocks.restoreWritten(blocks, in: index)
    }
}
