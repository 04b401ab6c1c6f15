extension PiecePicker {
    /// How many random probes a random-first pick makes before falling back to rarest first.
    static let randomProbes = 64

    /// Chooses up to `count` blocks to request from `peer` and records them as requested by it.
    ///
    /// Free blocks of started pieces come first (oldest piece first), then new pieces (random among the
    /// first ``randomFirstPieces``, rarest first afterwards), and, in endgame only, blocks already
    /// requested from other peers. Consecutive blocks of one piece go to the same peer.
    ///
    /// - Parameters:
    ///   - peer: the peer that will receive the requests.
    ///   - count: how many requests the peer's pipeline has room for.
    ///   - peerHas: whether the peer has a piece (its bitfield; `{ _ in true }` for a seed).
    public mutating func pickBlocks(
        for peer: PeerKey, count: Int, peerHas: (PieceIndex) -> Bool
    ) -> [BlockRequest] {
        guard count > 0, wantedMissingCount > 0 else { return [] }
        var picked: [BlockRequest] = []
        for piece in blocks.startOrder where priorities[piece] > 0 && blocks.freeCount(of: piece) > 0 {
            guard peerHas(PieceIndex(piece)) else { continue }
            blocks.takeFreeBlocks(of: piece, for: peer, into: &picked, limit: count)
            if picked.count == count { return picked }
        }
        let piecesNeeded = (count - picked.count + layout.blocksPerPiece - 1) / layout.blocksPerPiece + 1
        for piece in newPieces(limit: piecesNeeded, peerHas: peerHas) {
            blocks.start(piece)
            blocks.takeFreeBlocks(of: piece, for: peer, into: &picked, limit: count)
            if picked.count == count { return picked }
        }
        if isEndgame {
            blocks.takeRequestedBlocks(
                for: peer, into: &picked, limit: count, maxRequesters: endgameMaxRequesters,
                isEligible: { priorities[$0] > 0 && peerHas(PieceIndex($0)) })
        }
        return picked
    }

    /// Up to `limit` wanted pieces not yet started that the peer has, in the order to start them.
    private mutating func newPieces(limit: Int, peerHas: (PieceIndex) -> Bool) -> [Int] {
        var result: [Int] = []
        func eligible(_ piece: Int) -> Bool {
            !blocks.isStarted(piece) && !result.contains(piece) && peerHas(PieceIndex(piece))
        }
        if haveCount < randomFirstPieces && layout.pieceCount > 0 {
            for _ in 0..<Self.randomProbes where result.count < limit {
                let piece = Int.random(in: 0..<layout.pieceCount, using: &random)
                if isIndexed(piece) && eligible(piece) { result.append(piece) }
            }
            if !result.isEmpty { return result }
        }
        // Rarest first: a seed has every piece, so pieces no bitfield peer has are only worth scanning
        // when a seed is connected.
        let firstBucket = seedCount > 0 ? 0 : 1
        for level in stride(from: levels.count - 1, through: 1, by: -1) {
            guard let index = levels[level] else { continue }
            let order = index.order
            var position = index.start(ofBucket: firstBucket)
            while position < order.count && result.count < limit {
                let piece = Int(order[position])
                if eligible(piece) { result.append(piece) }
                position += 1
            }
            if result.count == limit { break }
        }
        return result
    }
}
