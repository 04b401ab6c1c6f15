/// Resuming: what the database says is done, checked against the files without reading them back
/// (DESIGN.md, persistence invariants 3 and 4).
extension TorrentSession {
    /// Marks pieces and blocks already done: from the resume store, checked against the files' sizes and
    /// modification times; pieces of files changed behind btq's back (or not vouched for by a durable
    /// checkpoint after a power loss) are hashed again, nothing else is read. With nothing recorded, data
    /// already in the files (a re-run, files copied in) is found by hashing the pieces that have any.
    func restoreProgress() async throws {
        let restorer = ProgressRestorer(
            metainfo: metainfo, storage: storage, store: persistence.store, torrentId: persistence.torrentId,
            writer: persistence.writer, policy: persistence.policy)
        var found = try await restorer.find()
        let restoredBlocks = core.restore(&found, journal: &persistence.journal)
        let rechecked = found.findings.recheck.sorted()
        // The files as they are before their pieces are read back: once read, what they hold is vouched for
        // by these sizes and times, so the next start reads nothing of them unless they change (data put in
        // place, or a file touched behind btq's back, is read back once, not at every start).
        let checkedStats = rechecked.isEmpty ? [] : await Self.stats(touching: rechecked, of: storage, metainfo)
        let verdicts = await restorer.verify(rechecked)
        let valid = RestoreFindings.applyVerdicts(
            rechecked, valid: verdicts, to: &core.swarm.picker, journal: &persistence.journal)
        let bytesRead = rechecked.reduce(Int64(0)) { $0 + Int64(layout.length(of: $1)) }
        if !checkedStats.isEmpty { persistence.journal.record(checkedStats) }
        startCheck.finished(missingPieces: !core.swarm.picker.isComplete, bytesRead: bytesRead)
        guard let torrentId = persistence.torrentId else { return }
        let outcome = RestoreFindings.Outcome(
            piecesVerified: core.swarm.picker.haveCount, pieceCount: layout.pieceCount, restoredBlocks: restoredBlocks,
            rechecked: rechecked.count, valid: valid, bytesRead: bytesRead)
        for event in found.findings.events(torrentId: torrentId, outcome: outcome) { persistence.journal.record(event) }
    }

    /// The current sizes and modification times of the files that hold part of `pieces`.
    static func stats(
        touching pieces: [PieceIndex], of storage: any PieceStorage, _ metainfo: Metainfo
    ) async
        -> [FileStat]
    {
        guard let current = await storage.currentFileStats(), !current.isEmpty else { return [] }
        let map = FileSpanMap(files: metainfo.files, layout: storage.layout)
        let read = Set(pieces)
        return current.values.filter { stat in
            guard let range = map.pieceRange(touching: stat.index) else { return false }
            return (range.lowerBound.value...range.upperBound.value).contains { read.contains(PieceIndex($0)) }
        }.sorted { $0.index.value < $1.index.value }
    }
}
