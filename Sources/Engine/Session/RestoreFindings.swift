/// What the check at start found: the progress earlier runs recorded, as far as it is trusted after a
/// possible power loss and a look at the files' sizes and modification times (DESIGN.md, persistence
/// invariants 3 and 4). A value: the session reads the record and the files' stats, this decides.
struct RestoreFindings {
    var verified: Bitfield
    var masks: [PieceIndex: Bitfield] = [:]
    var recheck: Set<PieceIndex> = []
    var missingFiles: [String] = []
    var changedFiles: [String] = []
    var distrustedLatest = false
    /// Nothing was recorded: the pieces holding data on disk were checked instead.
    var checkedDataOnDisk = false

    /// The recorded progress `state`, cut back to its durable checkpoint when `policy` says a power loss
    /// may have taken what was recorded after it (the pieces verified since are rechecked).
    init(recorded state: ResumeState, policy: ResumePolicy, pieceCount: Int) {
        verified = state.verified
        masks = state.blockMasks
        guard policy.distrustsLatestProgress(checkpointAt: state.checkpointAt, recordedAt: state.recordedAt) else {
            return
        }
        let durable = state.durableVerified ?? Bitfield(count: pieceCount)
        distrustedLatest = true
        verified = durable.count == pieceCount ? durable : Bitfield(count: pieceCount)
        for piece in state.verified.setIndices where !verified.contains(piece) {
            recheck.insert(PieceIndex(piece))
        }
        masks = state.durableBlockMasks
    }

    /// Progress that is only `verified` pieces (none when nothing was recorded).
    init(verified: Bitfield) {
        self.verified = verified
    }

    /// Compares the progress with the files on disk: a file with progress that is missing loses it (its
    /// pieces are downloaded again); one whose size or modification time differs from the `recorded`
    /// stats (and is not a late write of our own, see `policy`) has its verified pieces rechecked and the
    /// blocks of its unfinished pieces dropped.
    mutating func compare(
        files: TorrentFiles, map: FileSpanMap, recorded: [FileStat], current: [FileIndex: FileStat],
        policy: ResumePolicy
    ) {
        let recordedStats = Dictionary(recorded.map { ($0.index, $0) }, uniquingKeysWith: { $1 })
        for (position, file) in files.enumerated() {
            let index = FileIndex(position)
            guard !file.isPad, file.symlinkTarget == nil, file.length > 0,
                let range = map.pieceRange(touching: index)
            else { continue }
            let pieces = (range.lowerBound.value...range.upperBound.value).map { PieceIndex($0) }
            let hasProgress = pieces.contains {
                verified.contains($0.value) || masks[$0] != nil || recheck.contains($0)
            }
            guard hasProgress else { continue }
            let name = file.relativePath
            guard let actual = current[index] else {
                missingFiles.append(name)
                for piece in pieces {
                    verified.clear(piece.value)
                    masks[piece] = nil
                    recheck.remove(piece)
                }
                continue
            }
            if let record = recordedStats[index], record.size == actual.size,
                record.modificationTimeNanoseconds == actual.modificationTimeNanoseconds
                    || policy.isOwnLateWrite(
                        recordedNanoseconds: record.modificationTimeNanoseconds,
                        actualNanoseconds: actual.modificationTimeNanoseconds)
            {
                continue
            }
            // Changed behind btq's back (or never recorded): its pieces are hashed again, and blocks of its
            // unfinished pieces are not trusted.
            changedFiles.append(name)
            for piece in pieces {
                if verified.contains(piece.value) { recheck.insert(piece) }
                verified.clear(piece.value)
                masks[piece] = nil
            }
        }
    }

    /// The pieces whose trusted progress (verified, to be rechecked, or blocks of it) goes beyond the
    /// `durable` checkpoint.
    func notDurable(beyond durable: DurableCheckpoint) -> [PieceIndex] {
        var pieces = Set<PieceIndex>()
        let trusted = verified.setIndices.map { PieceIndex($0) } + recheck
        for piece in trusted where !(piece.value < durable.verified.count && durable.verified.contains(piece.value)) {
            pieces.insert(piece)
        }
        for (piece, mask) in masks where !mask.isNone && durable.blockMasks[piece] != mask {
            pieces.insert(piece)
        }
        return pieces.sorted()
    }
}
