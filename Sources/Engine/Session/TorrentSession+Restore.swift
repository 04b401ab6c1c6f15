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
            statistics.restore(state.totals)
            let durable = state.durableVerified.flatMap { $0.count == layout.pieceCount ? $0 : nil }
            persistence.journal.restore(
                verified: state.verified, masks: state.blockMasks,
                durable: DurableCheckpoint(
                    torrentId: state.torrentId, verified: durable ?? Bitfield(count: layout.pieceCount),
                    blockMasks: state.durableBlockMasks))
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
        for piece in findings.verified.setIndices.map({ PieceIndex($0) }) where !findings.recheck.contains(piece) {
            _ = picker.pieceVerified(piece)
        }
        var restoredBlocks = 0
        for (piece, mask) in findings.masks
        where !findings.verified.contains(piece.value) && mask.count == layout.blockCount(in: piece) {
            restoredBlocks += mask.cardinality
            // Its other blocks go straight to disk too: the piece is hashed from the files, not from memory.
            verification.assemblies.goDirect(piece)
            // A piece all of whose blocks were written but whose check did not get recorded: hash it.
            if picker.restoreWrittenBlocks(mask.setIndices.map { BlockIndex($0) }, in: piece) {
                findings.recheck.insert(piece)
            }
        }
        let rechecked = findings.recheck.sorted()
        var valid = 0
        if !rechecked.isEmpty, let verifier = PieceVerifier(metainfo: metainfo) {
            let report = await verifier.verify(storage, pieces: rechecked)
            for piece in rechecked {
                if report.valid[piece.value] {
                    valid += 1
                    _ = picker.pieceVerified(piece)
                    if !persistence.journal.journaledVerified.contains(piece.value) {
                        persistence.journal.unsavedPieces[piece] = true
                    }
                } else {
                    _ = picker.pieceFailed(piece)
                    if persistence.journal.journaledVerified.contains(piece.value) {
                        persistence.journal.unsavedPieces[piece] = false
                    }
                }
            }
        }
        for piece in persistence.journal.journaledVerified.setIndices.map({ PieceIndex($0) }) where !picker.has(piece) {
            persistence.journal.unsavedPieces[piece] = false
        }
        startCheck.finished(
            missingPieces: !picker.isComplete,
            bytesRead: rechecked.reduce(Int64(0)) { $0 + Int64(layout.length(of: $1)) })
        recordRestore(findings, rechecked: rechecked.count, valid: valid, restoredBlocks: restoredBlocks)
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

    private func recordRestore(_ findings: RestoreFindings, rechecked: Int, valid: Int, restoredBlocks: Int) {
        guard let torrentId = persistence.torrentId else { return }
        /// An event naming (the first few of) `files`, when there are any.
        func report(_ kind: EventKind, _ files: [String], _ what: String) {
            guard !files.isEmpty else { return }
            let names = files.prefix(3).joined(separator: ", ") + (files.count > 3 ? ", ..." : "")
            persistence.journal.record(
                HistoryEvent(torrentId: torrentId, kind: kind, detail: "\(files.count) file(s) \(what) (\(names))"))
        }
        report(.dataMissing, findings.missingFiles, "missing: their pieces are downloaded again")
        report(.fileChanged, findings.changedFiles, "changed on disk: their pieces are rechecked")
        var detail = "\(picker.haveCount) of \(layout.pieceCount) pieces verified"
        if restoredBlocks > 0 { detail += ", \(restoredBlocks) blocks of unfinished pieces kept" }
        detail += "; rechecked \(rechecked) piece(s), \(valid) valid (\(startCheck.bytesRead) bytes read)"
        if findings.distrustedLatest { detail += "; progress after the last durable checkpoint was distrusted" }
        if findings.checkedDataOnDisk { detail += "; nothing was recorded: the pieces holding data were checked" }
        persistence.journal.record(HistoryEvent(torrentId: torrentId, kind: .checked, detail: detail))
    }
}
