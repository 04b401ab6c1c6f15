/// Resuming: what the database says is done, checked against the files without reading them back
/// (DESIGN.md, persistence invariants 3 and 4).
extension TorrentSession {
    /// Marks pieces and blocks already done: from the resume store, checked against the files' sizes and
    /// modification times; pieces of files changed behind btq's back (or not vouched for by a durable
    /// checkpoint after a power loss) are hashed again, nothing else is read. With nothing recorded, data
    /// already in the files (a re-run, files copied in) is found by hashing the pieces that have any.
    /// Runs before ``PieceStorage/prepare()``, so a deleted file is seen as missing, not as a new hole.
    func restoreProgress() async throws {
        var recorded: ResumeState?
        if let resume = persistence.store, let torrentId = persistence.torrentId {
            // Read on the writer's thread, after the writes handed over before it: the actor stays free.
            recorded = try await persistence.writer.perform { try resume.resumeState(torrentId: torrentId) }
        }
        var findings = RestoreFindings(verified: Bitfield(count: layout.pieceCount))
        if let state = recorded, state.verified.count == layout.pieceCount {
            swarm.statistics.restore(state.totals)
            let durable = state.durableVerified.flatMap { $0.count == layout.pieceCount ? $0 : nil }
            persistence.journal.restore(
                verified: state.verified, masks: state.blockMasks,
                durable: DurableCheckpoint(
                    torrentId: state.torrentId, verified: durable ?? Bitfield(count: layout.pieceCount),
                    blockMasks: state.durableBlockMasks),
                totals: state.totals)
            findings = await check(state)
        }
        try await storage.prepare()
        if let lastCheckpoint = persistence.journal.lastCheckpoint, !findings.distrustedLatest {
            // Progress an earlier run recorded after its last checkpoint, trusted now (no power loss since),
            // may still be only in the page cache: the next checkpoint syncs its files, though this run may
            // never write them.
            await storage.requireSync(of: findings.notDurable(beyond: lastCheckpoint))
        }
        let nothingRecorded = findings.verified.isNone && findings.masks.isEmpty && findings.recheck.isEmpty
        if nothingRecorded, findings.missingFiles.isEmpty {
            // Nothing recorded: data may still be there (a run killed before its first journal save, files
            // put there by hand). Check the pieces that hold some.
            findings.recheck = Set(RestoreFindings.piecesWithData(in: storage, files: metainfo.files))
            findings.checkedDataOnDisk = true
        }
        let restoredBlocks = findings.apply(to: &swarm.picker, assemblies: &verification.assemblies)
        let rechecked = findings.recheck.sorted()
        var verdicts: [Bool] = []
        if !rechecked.isEmpty, let verifier = PieceVerifier(metainfo: metainfo) {
            let report = await verifier.verify(storage, pieces: rechecked)
            verdicts = rechecked.map { report.valid[$0.value] }
        }
        let valid = RestoreFindings.applyVerdicts(
            rechecked, valid: verdicts, to: &swarm.picker, journal: &persistence.journal)
        let bytesRead = rechecked.reduce(Int64(0)) { $0 + Int64(layout.length(of: $1)) }
        startCheck.finished(missingPieces: !swarm.picker.isComplete, bytesRead: bytesRead)
        if let torrentId = persistence.torrentId {
            let outcome = RestoreFindings.Outcome(
                piecesVerified: swarm.picker.haveCount, pieceCount: layout.pieceCount, restoredBlocks: restoredBlocks,
                rechecked: rechecked.count, valid: valid, bytesRead: bytesRead)
            for event in findings.events(torrentId: torrentId, outcome: outcome) { persistence.journal.record(event) }
        }
    }

    /// Compares the recorded progress with the files on disk.
    private func check(_ state: ResumeState) async -> RestoreFindings {
        let policy = persistence.policy
        var findings = RestoreFindings(recorded: state, policy: policy, pieceCount: layout.pieceCount)
        guard let current = await storage.currentFileStats() else { return findings }
        findings.compare(
            files: metainfo.files, map: FileSpanMap(files: metainfo.files, layout: layout), recorded: state.files,
            current: current, policy: policy)
        return findings
    }
}
