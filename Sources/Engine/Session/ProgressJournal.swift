/// The progress journal of one torrent (DESIGN.md, persistence invariants 1 to 3), as a value the session
/// owns: what changed and is not saved yet, the batch on its way to the store, what the store has, and the
/// last durable checkpoint.
///
/// It decides what goes into each batch and what a batch's outcome means; it performs no I/O. At most one
/// batch is in flight: ``takeBatch(torrentId:masks:isVerified:totals:stats:)`` moves what is unsaved into it, and
/// changes made while the store works coalesce into the unsaved state (a piece's latest verdict, summed
/// counters, one record per peer and tracker), so what waits for a locked database stays bounded by the
/// torrent's size rather than by the time it waits. ``batchSaved(time:)`` applies the batch to the store's
/// view; ``batchFailed()`` merges it back under what changed since, to go with the next batch.
struct ProgressJournal: Sendable {
    /// A peer's record, by address and port.
    struct PeerRecordKey: Hashable, Sendable {
        var address: String
        var port: Int
    }

    /// What a batch took, kept until the store says how it went.
    struct InFlight: Sendable {
        var pieces: [PieceIndex: Bool]
        var masks: [PieceIndex: Bitfield]
        var totals: TransferTotals
        var events: [HistoryEvent]
        var trackers: [String: TrackerStatus]
        var peers: [PeerRecordKey: PeerUpdate]
        var fileStats: [FileIndex: FileStat]
    }

    /// What the journal cost, for logs and benchmarks.
    struct Statistics: Sendable {
        var transactions = 0
        var failedTransactions = 0
        var storeTime = Duration.zero
        var checkpoints = 0
        var checkpointTime = Duration.zero
    }

    /// Verified pieces as the store has them.
    private(set) var journaledVerified: Bitfield
    /// Block masks of unfinished pieces as the store has them.
    private(set) var journaledMasks: [PieceIndex: Bitfield] = [:]
    /// The last durable checkpoint: committed by this session, or found at start.
    private(set) var lastCheckpoint: DurableCheckpoint?
    /// A sync failed: no checkpoint may be committed any more, and no new progress recorded.
    private(set) var durabilityLost = false

    /// Pieces whose verdict changed (true: verified, false: no longer verified), not saved yet.
    var unsavedPieces: [PieceIndex: Bool] = [:]
    /// The torrent's transfer counters as far as batches took them (the store adds each batch's share):
    /// what the session counts beyond them is unsaved.
    private(set) var journaledTotals = TransferTotals()
    /// History entries not saved yet, in order.
    private(set) var unsavedEvents: [HistoryEvent] = []
    /// Latest tracker states not saved yet, by announce URL.
    private(set) var unsavedTrackers: [String: TrackerStatus] = [:]
    /// Peer records not saved yet (counters summed, the latest of everything else).
    private(set) var unsavedPeers: [PeerRecordKey: PeerUpdate] = [:]
    /// File sizes and times taken from the storage and not saved yet.
    private(set) var unsavedFileStats: [FileIndex: FileStat] = [:]
    /// The batch the store is writing.
    private(set) var inFlight: InFlight?
    /// What the journal cost.
    var statistics = Statistics()

    /// An empty journal for a torrent of `pieceCount` pieces.
    init(pieceCount: Int) {
        journaledVerified = Bitfield(count: pieceCount)
    }

    /// Starts from what the store recorded (`durable` is the durable checkpoint found with it, `totals`
    /// the counters it holds).
    mutating func restore(
        verified: Bitfield, masks: [PieceIndex: Bitfield], durable: DurableCheckpoint,
        totals: TransferTotals = TransferTotals()
    ) {
        journaledVerified = verified
        journaledMasks = masks
        lastCheckpoint = durable
        journaledTotals = totals
    }

    // MARK: Changes

    /// Appends a history entry.
    mutating func record(_ event: HistoryEvent) {
        unsavedEvents.append(event)
    }

    /// Keeps a tracker's latest state.
    mutating func record(_ status: TrackerStatus) {
        unsavedTrackers[status.url] = status
    }

    /// Folds a peer's record into the one waiting for its address: counters add up, the rest is the latest.
    mutating func record(_ update: PeerUpdate) {
        unsavedPeers[PeerRecordKey(address: update.address, port: update.port)] = Self.merge(
            unsavedPeers[PeerRecordKey(address: update.address, port: update.port)], then: update)
    }

    /// Keeps the latest size and time of each file.
    mutating func record(_ stats: [FileStat]) {
        for stat in stats { unsavedFileStats[stat.index] = stat }
    }

    /// Forgets everything unsaved (a session with no store; its counters are never saved).
    mutating func discardUnsaved() {
        unsavedPieces = [:]
        unsavedEvents = []
        unsavedTrackers = [:]
        unsavedPeers = [:]
        unsavedFileStats = [:]
    }

    // MARK: Batches

    /// Moves what changed into a batch for the store, or returns `nil` when nothing changed (or a batch is
    /// already in flight).
    ///
    /// - Parameters:
    ///   - masks: the block masks of unfinished pieces as they stand (blocks that are in the files).
    ///   - isVerified: whether the session holds a piece as verified now (a recorded mask of a piece that is
    ///     neither unfinished nor verified any more is cleared).
    ///   - totals: the session's transfer counters now; the batch takes what they grew since the last one.
    ///   - stats: file sizes and times taken from the storage for this batch.
    mutating func takeBatch(
        torrentId: Int64, masks: [PieceIndex: Bitfield], isVerified: (PieceIndex) -> Bool,
        totals: TransferTotals = TransferTotals(), stats: [FileStat] = []
    ) -> ProgressBatch? {
        guard inFlight == nil else { return nil }
        record(stats)
        var changedMasks: [PieceIndex: Bitfield] = [:]
        for (piece, mask) in masks where journaledMasks[piece] != mask { changedMasks[piece] = mask }
        for (piece, mask) in journaledMasks where masks[piece] == nil && !isVerified(piece) {
            changedMasks[piece] = Bitfield(count: mask.count)
        }
        if durabilityLost {
            // After a failed sync nothing newly written can be made durable: no new progress is recorded
            // (pieces found bad still are).
            changedMasks = [:]
            unsavedPieces = unsavedPieces.filter { !$0.value }
        }
        let grown = TransferTotals(
            downloaded: totals.downloaded - journaledTotals.downloaded,
            uploaded: totals.uploaded - journaledTotals.uploaded,
            wasted: totals.wasted - journaledTotals.wasted)
        let taken = InFlight(
            pieces: unsavedPieces, masks: changedMasks, totals: grown, events: unsavedEvents,
            trackers: unsavedTrackers, peers: unsavedPeers, fileStats: unsavedFileStats)
        let fileStats = taken.fileStats.values.sorted { $0.index.value < $1.index.value }
        let progress = TorrentProgress(
            torrentId: torrentId, pieces: taken.pieces, blockMasks: taken.masks, transferred: taken.totals,
            fileStats: fileStats)
        let batch = ProgressBatch(
            torrents: [progress], peers: taken.peers.values.sorted { ($0.address, $0.port) < ($1.address, $1.port) },
            trackers: taken.trackers.values.sorted { $0.url < $1.url }.map { TrackerUpdate($0, torrentId: torrentId) },
            events: taken.events)
        guard !batch.isEmpty else { return nil }
        discardUnsaved()
        journaledTotals = totals
        inFlight = taken
        return batch
    }

    /// The batch in flight was committed (its write took `time`): the store's view moves on.
    mutating func batchSaved(time: Duration = .zero) {
        guard let taken = inFlight else { return }
        inFlight = nil
        statistics.transactions += 1
        statistics.storeTime += time
        for (piece, isVerified) in taken.pieces {
            journaledVerified.set(piece.value, to: isVerified)
            if isVerified { journaledMasks[piece] = nil }
        }
        for (piece, mask) in taken.masks where !journaledVerified.contains(piece.value) {
            journaledMasks[piece] = mask.isNone ? nil : mask
        }
    }

    /// The batch in flight failed: what it held is unsaved again, under what changed meanwhile (a newer
    /// verdict, tracker state or file time wins; counters and peer records add up; its events come first).
    /// Block masks need nothing: the next batch compares the masks with the store's view again.
    mutating func batchFailed() {
        guard let taken = inFlight else { return }
        inFlight = nil
        statistics.failedTransactions += 1
        unsavedPieces.merge(taken.pieces) { newer, _ in newer }
        journaledTotals.downloaded -= taken.totals.downloaded
        journaledTotals.uploaded -= taken.totals.uploaded
        journaledTotals.wasted -= taken.totals.wasted
        unsavedEvents = taken.events + unsavedEvents
        unsavedTrackers.merge(taken.trackers) { newer, _ in newer }
        unsavedFileStats.merge(taken.fileStats) { newer, _ in newer }
        for (key, older) in taken.peers { unsavedPeers[key] = Self.merge(older, then: unsavedPeers[key]) }
    }

    /// `later` applied over `earlier`: counters add up, a later value of anything else wins.
    static func merge(_ earlier: PeerUpdate?, then later: PeerUpdate?) -> PeerUpdate? {
        guard var merged = earlier else { return later }
        guard let later else { return merged }
        merged.downloadedDelta += later.downloadedDelta
        merged.uploadedDelta += later.uploadedDelta
        merged.hashFailuresDelta += later.hashFailuresDelta
        merged.peerId = later.peerId ?? merged.peerId
        merged.client = later.client ?? merged.client
        merged.transport = later.transport ?? merged.transport
        merged.source = later.source
        merged.seenAt = later.seenAt
        merged.banned = later.banned ?? merged.banned
        return merged
    }

    // MARK: Checkpoints

    /// What a checkpoint would vouch for now (what the store has), or `nil` when there is nothing new or
    /// durability was lost.
    func checkpointSnapshot(torrentId: Int64) -> DurableCheckpoint? {
        guard !durabilityLost else { return nil }
        let snapshot = DurableCheckpoint(torrentId: torrentId, verified: journaledVerified, blockMasks: journaledMasks)
        return snapshot == lastCheckpoint ? nil : snapshot
    }

    /// Progress was journaled that no durable checkpoint covers yet (what ``checkpointSnapshot(torrentId:)``
    /// would return a snapshot for).
    var awaitsCheckpoint: Bool {
        guard !durabilityLost else { return false }
        guard let lastCheckpoint else { return true }
        return checkpointSnapshot(torrentId: lastCheckpoint.torrentId) != nil
    }

    /// A checkpoint was committed.
    mutating func checkpointCommitted(_ snapshot: DurableCheckpoint, time: Duration) {
        lastCheckpoint = snapshot
        statistics.checkpoints += 1
        statistics.checkpointTime += time
    }

    /// A sync failed: from now on nothing new is vouched for. Returns the batch that takes the store back to
    /// the last checkpoint (pieces verified since, journaled or not, recorded unverified with all their
    /// blocks written), or `nil` when there is nothing to take back; hand it to ``rollbackSaved(_:)``
    /// once written.
    mutating func loseDurability(torrentId: Int64, layout: PieceLayout) -> (ProgressBatch, DurableCheckpoint.Rollback)?
    {
        durabilityLost = true
        let base =
            lastCheckpoint ?? DurableCheckpoint(torrentId: torrentId, verified: Bitfield(count: layout.pieceCount))
        // Pieces verified but not journaled yet go back too: they are written, not durable.
        var latest = journaledVerified
        for (piece, isVerified) in unsavedPieces where isVerified { latest.set(piece.value) }
        if let inFlight {
            for (piece, isVerified) in inFlight.pieces where isVerified { latest.set(piece.value) }
        }
        let rollback = base.rollback(verified: latest, masks: journaledMasks, layout: layout)
        guard !rollback.isEmpty else { return nil }
        var pieces: [PieceIndex: Bool] = [:]
        for piece in rollback.unverified { pieces[piece] = false }
        let batch = ProgressBatch(torrents: [
            TorrentProgress(torrentId: torrentId, pieces: pieces, blockMasks: rollback.masks)
        ])
        return (batch, rollback)
    }

    /// The rollback batch was written: the store's view is the checkpoint's again.
    mutating func rollbackSaved(_ rollback: DurableCheckpoint.Rollback) {
        journaledVerified = rollback.verified
        journaledMasks = rollback.journaledMasks
        for piece in rollback.unverified { unsavedPieces[piece] = nil }
    }
}
