/// Decides which blocks to request from which peer: the piece picker of one torrent.
///
/// A plain value owned by the torrent's actor, so every call is synchronous and the whole policy is
/// testable without I/O. The policy:
///
/// 1. **Finish started pieces first.** Free blocks of pieces already in progress are handed out
///    before any new piece is started, oldest piece first, so a torrent keeps few partial pieces and
///    completes pieces (and can share them) quickly.
/// 2. **Higher priority first.** New pieces of a higher priority level are started strictly before
///    those of lower ones (a piece takes the highest priority of the files it overlaps); within a
///    level, the torrent's ``order`` (a ``DownloadOrder``) decides.
/// 3. **Random first pieces** (order `rarest`). Until ``randomFirstPieces`` pieces are verified, new
///    pieces are chosen at random among those of the highest wanted priority the peer has, to get
///    something to trade fast.
/// 4. **Rarest first** (order `rarest`, and `first-last` after its previews). Afterwards the wanted
///    piece with the lowest availability that the peer has is started, ties broken at random. Pieces
///    are kept in availability buckets (a rarity index), so a `have` is O(1) and a pick scans only
///    from the rarest bucket until it finds a piece the peer has.
/// 5. **Sequential** (order `sequential`): the lowest-index wanted piece the peer has, scanning from a
///    cursor kept past the verified and unwanted pieces at the front, so a pick costs no more than the
///    pieces in progress and those the peer lacks ahead of the first it has.
/// 6. **First and last** (order `first-last`): the first and last piece of each wanted file (kept as
///    a sorted list with a cursor past those done), then rarest first.
///    Rarest first keeps small pieces together: a piece started from the rarity index brings the other
///    pieces of its ``extentBytes`` extent that are just as rare, in piece order (``extentRest`` keeps
///    those the pick had no room for, for the next picks). The pieces of an extent then arrive
///    together and are written in one run (see ``PieceStoreBatches``), where random ties scattered
///    16 KiB pieces over the whole file.
/// 7. **Endgame.** Once every missing wanted block is requested, blocks are requested again from other
///    peers (up to ``endgameMaxRequesters`` peers per block), and when a block arrives the duplicate
///    requests are returned for cancelling.
///
/// Availability counts come from the session: `addAvailability` for `have` and
/// `bitfield`, ``addSeed()`` for `have all`, and the matching removals when a peer leaves.
///
/// The picker decides which pieces to start and which blocks to ask whom for; the state of each
/// block of the pieces in progress, and the requests each peer owes, are kept by the
/// ``BlockTracker`` it owns (``blocks``), changed in place.
public struct PiecePicker: Sendable {
    /// The piece geometry.
    public let layout: PieceLayout
    /// How many pieces to pick at random before switching to rarest first.
    public var randomFirstPieces = 4
    /// Rarest first starts the pieces of an extent of this many bytes together (pieces this long or
    /// longer are started alone).
    public var extentBytes = 1 << 20
    /// The rest of the extent of the last piece rarest first started, in piece order, to start next.
    var extentRest: [Int32] = []
    /// In endgame, the most peers one block is requested from at once.
    public var endgameMaxRequesters = 3
    /// The order new pieces are started in within a priority level.
    public var order: DownloadOrder = .rarest {
        didSet {
            sequentialCursor = 0
            previewCursor = 0
        }
    }

    /// Per piece: how many peers that announced pieces individually have it (seeds not included).
    var availability: [Int32]
    /// Peers that have every piece (`have all`), counted once instead of per piece.
    public private(set) var seedCount = 0
    var have: [Bool]
    /// The number of verified pieces.
    public internal(set) var haveCount = 0
    var priorities: [UInt8]
    /// Pieces wanted (priority above 0) and not verified.
    public internal(set) var wantedMissingCount: Int
    /// Per priority level 1...7, the wanted missing pieces of that level by availability.
    var levels: [RarityIndex?]
    /// The blocks of the pieces in progress, and the requests each peer owes.
    var blocks: BlockTracker
    var random: SeededRandom
    /// Order `sequential`: no piece below it is wanted and missing (advanced lazily by a pick).
    var sequentialCursor = 0
    /// Order `first-last`: the first and last piece of each wanted file, ascending, without repeats.
    var previewPieces: [Int32]
    /// Order `first-last`: no entry of ``previewPieces`` below it is wanted and missing.
    var previewCursor = 0

    /// A picker for `layout` with no pieces, every piece at ``PiecePriority/normal`` and no peers.
    ///
    /// - Parameter random: the source of the random choices; pass a seeded one for reproducible picks.
    public init(layout: PieceLayout, random: SeededRandom = SeededRandom()) {
        self.layout = layout
        self.random = random
        blocks = BlockTracker(layout: layout)
        let count = layout.pieceCount
        availability = Array(repeating: 0, count: count)
        have = Array(repeating: false, count: count)
        priorities = Array(repeating: PiecePriority.normal.level, count: count)
        wantedMissingCount = count
        levels = Array(repeating: nil, count: Int(PiecePriority.highest.level) + 1)
        previewPieces = count == 0 ? [] : count == 1 ? [0] : [0, Int32(count - 1)]
        for piece in 0..<count { indexInsert(piece) }
    }

    // MARK: - Queries

    /// True when every wanted piece is verified.
    public var isComplete: Bool { wantedMissingCount == 0 }

    /// True when we have verified `piece`.
    public func has(_ piece: PieceIndex) -> Bool { have[piece.value] }

    /// True when `piece` is wanted and not yet verified: a peer having it makes us interested.
    public func wants(_ piece: PieceIndex) -> Bool { !have[piece.value] && priorities[piece.value] > 0 }

    /// The priority of `piece`.
    public func priority(of piece: PieceIndex) -> PiecePriority { PiecePriority(priorities[piece.value]) }

    /// How many connected peers have `piece`.
    public func availability(of piece: PieceIndex) -> Int { Int(availability[piece.value]) + seedCount }

    /// True when a peer having the pieces `peerHas` reports has something we want. O(pieces).
    public func isInterested(in peerHas: (PieceIndex) -> Bool) -> Bool {
        (0..<layout.pieceCount).contains { piece in
            !have[piece] && priorities[piece] > 0 && peerHas(PieceIndex(piece))
        }
    }

    /// How many pieces are in progress (started and not yet verified).
    public var piecesInProgressCount: Int { blocks.startOrder.count }

    /// The pieces in progress, in the order they were started.
    public var piecesInProgress: [PieceIndex] { blocks.startOrder.map { PieceIndex($0) } }

    /// The state of each block of `piece`, or `nil` when the piece is not in progress.
    public func blockStates(of piece: PieceIndex) -> [BlockState]? { blocks.downloading[piece.value]?.blocks }

    /// The blocks of `piece` already in the files (what the resume journal records).
    public func writtenBlocks(in piece: PieceIndex) -> [BlockIndex] { blocks.writtenBlocks(in: piece) }

    /// The blocks already in the files of each piece in progress that has some, as a mask of the
    /// piece's blocks (what the resume journal records of unfinished pieces).
    public var writtenBlockMasks: [PieceIndex: Bitfield] {
        var masks: [PieceIndex: Bitfield] = [:]
        for piece in piecesInProgress {
            let written = writtenBlocks(in: piece)
            guard !written.isEmpty else { continue }
            var mask = Bitfield(count: layout.blockCount(in: piece))
            for block in written { mask.set(block.value) }
            masks[piece] = mask
        }
        return masks
    }

    /// The requests sent to `peer` that are still outstanding.
    public func outstandingRequests(of peer: PeerKey) -> Set<BlockRequest> { blocks.outstanding[peer] ?? [] }

    /// True in endgame: every block of every missing wanted piece is requested or received.
    public var isEndgame: Bool {
        // Every missing wanted piece must be in progress: not so while fewer pieces are (no scan then).
        guard wantedMissingCount > 0, blocks.startOrder.count >= wantedMissingCount else { return false }
        var inProgressWanted = 0
        for piece in blocks.startOrder where priorities[piece] > 0 {
            if blocks.freeCount(of: piece) > 0 { return false }
            inProgressWanted += 1
        }
        return inProgressWanted == wantedMissingCount
    }

    // MARK: - Availability

    /// A peer announced `piece` (`have`, or one bit of its `bitfield`).
    public mutating func addAvailability(_ piece: PieceIndex) {
        availability[piece.value] += 1
        reindex(piece.value)
    }

    /// A peer announced all of `pieces` (its `bitfield`).
    public mutating func addAvailability(_ pieces: some Sequence<PieceIndex>) {
        for piece in pieces { addAvailability(piece) }
    }

    /// A peer that had `piece` left.
    public mutating func removeAvailability(_ piece: PieceIndex) {
        precondition(availability[piece.value] > 0, "availability of \(piece) would go negative")
        availability[piece.value] -= 1
        reindex(piece.value)
    }

    /// A peer that had all of `pieces` left.
    public mutating func removeAvailability(_ pieces: some Sequence<PieceIndex>) {
        for piece in pieces { removeAvailability(piece) }
    }

    /// A peer that has every piece (`have all`, or a complete bitfield) joined. O(1).
    public mutating func addSeed() { seedCount += 1 }

    /// A peer counted by ``addSeed()`` left.
    public mutating func removeSeed() {
        precondition(seedCount > 0, "no seed to remove")
        seedCount -= 1
    }

    // MARK: - Priorities

    /// Sets the priority of one piece. Lowering it to ``PiecePriority/skip`` stops new requests for
    /// it; blocks already requested stay requested.
    public mutating func setPriority(_ priority: PiecePriority, of piece: PieceIndex) {
        let index = piece.value
        guard priorities[index] != priority.level else { return }
        let wasIndexed = isIndexed(index)
        if wasIndexed { levels[Int(priorities[index])]!.remove(index) }
        if !have[index] { wantedMissingCount += (priority.isWanted ? 1 : 0) - (priorities[index] > 0 ? 1 : 0) }
        priorities[index] = priority.level
        if isIndexed(index) {
            indexInsert(index)
            sequentialCursor = min(sequentialCursor, index)
            previewCursor = 0
        }
    }

    /// Derives piece priorities from file priorities: a piece gets the highest priority of the
    /// non-pad files it overlaps, so a piece shared by a skipped and a wanted file is wanted, and one
    /// lying wholly in skipped files (or pad files) is never requested.
    ///
    /// - Precondition: one priority per file of `map`, and `map` built for this picker's layout.
    public mutating func setFilePriorities(_ filePriorities: [PiecePriority], map: FileSpanMap) {
        precondition(filePriorities.count == map.fileCount, "need one priority per file")
        precondition(map.layout == layout, "file map of another layout")
        var pieceLevels = [UInt8](repeating: 0, count: layout.pieceCount)
        var previews: [Int32] = []
        for (index, priority) in filePriorities.enumerated() where priority.isWanted {
            let file = FileIndex(index)
            guard !map.isPad(file), let range = map.pieceRange(touching: file) else { continue }
            for piece in range.lowerBound.value...range.upperBound.value {
                pieceLevels[piece] = max(pieceLevels[piece], priority.level)
            }
            // Files come in stream order, so these stay ascending.
            for piece in [range.lowerBound.value, range.upperBound.value] where previews.last != Int32(piece) {
                previews.append(Int32(piece))
            }
        }
        previewPieces = previews
        previewCursor = 0
        for piece in 0..<layout.pieceCount { setPriority(PiecePriority(pieceLevels[piece]), of: PieceIndex(piece)) }
    }

    // MARK: - Index upkeep

    func isIndexed(_ piece: Int) -> Bool { !have[piece] && priorities[piece] > 0 }

    mutating func indexInsert(_ piece: Int) {
        let level = Int(priorities[piece])
        if levels[level] == nil { levels[level] = RarityIndex(pieceCount: layout.pieceCount) }
        levels[level]!.insert(piece, key: Int(availability[piece]), using: &random)
    }

    mutating func reindex(_ piece: Int) {
        guard isIndexed(piece) else { return }
        levels[Int(priorities[piece])]!.update(piece, key: Int(availability[piece]), using: &random)
    }
}
