extension PiecePicker {
    /// How many random probes a random-first pick makes before falling back to rarest first.
    static let randomProbes = 64

    /// Chooses up to `count` blocks to request from `peer` and records them as requested by it.
    ///
    /// Free blocks of started pieces come first (oldest piece first), then new pieces (higher priority
    /// levels first; within a level in the ``order``: random among the first ``randomFirstPieces``
    /// and rarest first afterwards, or in piece order, or the ends of each file first), and, in
    /// endgame only, blocks already requested from other peers. Consecutive blocks of one piece go to
    /// the same peer.
    ///
    /// - Parameters:
    ///   - peer: the peer that will receive the requests.
    ///   - count: how many requests the peer's pipeline has room for.
    ///   - newPieces: how many pieces not yet started this pick may start (the session's memory for
    ///     pieces, see ``PieceMemoryBudget``); started pieces and the endgame are not limited.
    ///   - peerHas: whether the peer has a piece (its bitfield; `{ _ in true }` for a seed).
    public mutating func pickBlocks(
        for peer: PeerKey, count: Int, newPieces: Int = .max, peerHas: (PieceIndex) -> Bool
    ) -> [BlockRequest] {
        guard count > 0, wantedMissingCount > 0 else { return [] }
        var picked: [BlockRequest] = []
        // Started pieces are scanned only when one of them has a free block (with small pieces, each
        // is requested whole when it starts, and hundreds may be in progress).
        for piece in blocks.freeBlocks > 0 ? blocks.startOrder : []
        where priorities[piece] > 0 && blocks.freeCount(of: piece) > 0 {
            guard peerHas(PieceIndex(piece)) else { continue }
            blocks.takeFreeBlocks(of: piece, for: peer, into: &picked, limit: count)
            if picked.count == count { return picked }
        }
        let piecesNeeded = min(
            newPieces, (count - picked.count + layout.blocksPerPiece - 1) / layout.blocksPerPiece + 1)
        let fresh = piecesNeeded > 0 ? self.newPieces(limit: piecesNeeded, peerHas: peerHas) : []
        for (position, piece) in fresh.enumerated() {
            blocks.start(piece)
            blocks.takeFreeBlocks(of: piece, for: peer, into: &picked, limit: count)
            if picked.count == count {
                keepExtentRest(fresh[(position + 1)...], after: piece)
                return picked
            }
        }
        if isEndgame {
            blocks.takeRequestedBlocks(
                for: peer, into: &picked, limit: count, maxRequesters: endgameMaxRequesters,
                isEligible: { priorities[$0] > 0 && peerHas(PieceIndex($0)) })
        }
        return picked
    }

    /// Up to `limit` wanted pieces not yet started that the peer has, in the order to start them:
    /// priority level by level, highest first, and within a level in the torrent's ``order``.
    private mutating func newPieces(limit: Int, peerHas: (PieceIndex) -> Bool) -> [Int] {
        var result: [Int] = []
        func eligible(_ piece: Int) -> Bool {
            !blocks.isStarted(piece) && !result.contains(piece) && peerHas(PieceIndex(piece))
        }
        // Pieces of ``extentRest`` still wanted at `level` and eligible, up to `limit`.
        func takeExtentRest(level: UInt8) {
            while result.count < limit, let next = extentRest.popLast().map(Int.init) {
                if isIndexed(next) && priorities[next] == level && eligible(next) { result.append(next) }
            }
        }
        if order == .rarest && haveCount < randomFirstPieces && layout.pieceCount > 0,
            let top = levels.lastIndex(where: { ($0?.count ?? 0) > 0 })
        {
            // Random among the pieces of the highest level only: priorities hold from the first piece.
            for _ in 0..<Self.randomProbes where result.count < limit {
                let piece = Int.random(in: 0..<layout.pieceCount, using: &random)
                if isIndexed(piece) && Int(priorities[piece]) == top && eligible(piece) { result.append(piece) }
            }
            if !result.isEmpty { return result }
        }
        switch order {
        case .rarest: break
        case .sequential:
            while sequentialCursor < layout.pieceCount && !isIndexed(sequentialCursor) { sequentialCursor += 1 }
        case .firstLast:
            while previewCursor < previewPieces.count && !isIndexed(Int(previewPieces[previewCursor])) {
                previewCursor += 1
            }
        }
        // Rarest first: a seed has every piece, so pieces no bitfield peer has are only worth scanning
        // when a seed is connected.
        let firstBucket = seedCount > 0 ? 0 : 1
        for level in stride(from: levels.count - 1, through: 1, by: -1) {
            guard let index = levels[level], index.count > 0 else { continue }
            let wanted = UInt8(level)
            if order == .sequential {
                var piece = sequentialCursor
                while piece < layout.pieceCount && result.count < limit {
                    if priorities[piece] == wanted && !have[piece] && eligible(piece) { result.append(piece) }
                    piece += 1
                }
                if result.count == limit { break }
                continue
            }
            if order == .firstLast {
                var position = previewCursor
                while position < previewPieces.count && result.count < limit {
                    let piece = Int(previewPieces[position])
                    if priorities[piece] == wanted && !have[piece] && eligible(piece) { result.append(piece) }
                    position += 1
                }
                if result.count == limit { break }
            }
            if order == .rarest { takeExtentRest(level: wanted) }
            let ranked = index.order
            var position = index.start(ofBucket: firstBucket)
            while position < ranked.count && result.count < limit {
                let piece = Int(ranked[position])
                if eligible(piece) {
                    result.append(piece)
                    if order == .rarest {
                        startExtent(of: piece, in: index)
                        takeExtentRest(level: wanted)
                    }
                }
                position += 1
            }
            if result.count == limit { break }
        }
        return result
    }

    /// Rarest first: the pieces a pick chose but did not start that are of `piece`'s extent and as rare
    /// come first in the next pick, so the extent stays whole (any other is chosen again by rarity).
    private mutating func keepExtentRest(_ unused: ArraySlice<Int>, after piece: Int) {
        let count = extentBytes / layout.pieceLength
        guard order == .rarest, count > 1, !unused.isEmpty, let index = levels[Int(priorities[piece])] else { return }
        let key = index.key(of: piece)
        extentRest += unused.reversed().compactMap { other in
            other / count == piece / count && index.contains(other) && index.key(of: other) == key ? Int32(other) : nil
        }
    }

    /// Queues the other pieces of `piece`'s extent (``extentBytes``) that rarest first would start as
    /// soon: wanted at its level, as rare, not started (see ``extentRest``).
    private mutating func startExtent(of piece: Int, in index: RarityIndex) {
        let count = extentBytes / layout.pieceLength
        guard count > 1 else { return }
        let first = piece / count * count
        let key = index.key(of: piece)
        extentRest = (first..<min(first + count, layout.pieceCount)).reversed().compactMap { other in
            other != piece && index.contains(other) && index.key(of: other) == key && !blocks.isStarted(other)
                ? Int32(other) : nil
        }
    }
}
