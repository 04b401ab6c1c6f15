/// The start check's work off the session's actor (DESIGN.md, persistence invariants 3 and 4): reads
/// what the resume store recorded (on the writer's thread), compares it with the files' sizes and
/// modification times, prepares the files, finds data already in place when nothing was recorded, and
/// hashes the pieces that must be read back. The session takes what it finds into its parts in between
/// (see `TorrentSession+Restore.swift`).
struct ProgressRestorer: Sendable {
    let metainfo: Metainfo
    let storage: any PieceStorage
    /// Where progress was recorded, the torrent's id there, and the thread that reads it.
    let store: (any ResumeStore)?
    let torrentId: Int64?
    let writer: ResumeWriter
    /// How earlier runs ended, which decides how far the recorded progress is trusted.
    let policy: ResumePolicy

    /// What the store recorded for this torrent (when it fits the torrent) and what the files say of it.
    struct Found {
        /// The recorded progress and its last durable checkpoint.
        var recorded: (state: ResumeState, durable: DurableCheckpoint)?
        var findings: RestoreFindings
    }

    private var layout: PieceLayout { storage.layout }

    /// Reads the recorded progress and checks it against the files, without reading them back; then
    /// prepares the files (after the check, so a deleted file is seen as missing, not as a new hole).
    /// With nothing recorded, the pieces of files that hold data are marked to be read back.
    func find() async throws -> Found {
        var state: ResumeState?
        if let store, let torrentId {
            state = try await writer.perform { try store.resumeState(torrentId: torrentId) }
        }
        var found = Found(findings: RestoreFindings(verified: Bitfield(count: layout.pieceCount)))
        if let state, state.verified.count == layout.pieceCount {
            let durable = state.durableVerified.flatMap { $0.count == layout.pieceCount ? $0 : nil }
            let checkpoint = DurableCheckpoint(
                torrentId: state.torrentId, verified: durable ?? Bitfield(count: layout.pieceCount),
                blockMasks: state.durableBlockMasks)
            found.recorded = (state, checkpoint)
            found.findings = await check(state)
        }
        try await storage.prepare()
        if let checkpoint = found.recorded?.durable, !found.findings.distrustedLatest {
            // Progress an earlier run recorded after its last checkpoint, trusted now (no power loss since),
            // may still be only in the page cache: the next checkpoint syncs its files, though this run may
            // never write them.
            await storage.requireSync(of: found.findings.notDurable(beyond: checkpoint))
        }
        let findings = found.findings
        if findings.verified.isNone, findings.masks.isEmpty, findings.recheck.isEmpty, findings.missingFiles.isEmpty {
            // Nothing recorded: data may still be there (a run killed before its first journal save, files
            // put there by hand). Check the pieces that hold some.
            found.findings.recheck = Set(RestoreFindings.piecesWithData(in: storage, files: metainfo.files))
            found.findings.checkedDataOnDisk = true
        }
        return found
    }

    /// Compares the recorded progress with the files on disk.
    private func check(_ state: ResumeState) async -> RestoreFindings {
        var findings = RestoreFindings(recorded: state, policy: policy, pieceCount: layout.pieceCount)
        guard let current = await storage.currentFileStats() else { return findings }
        findings.compare(
            files: metainfo.files, map: FileSpanMap(files: metainfo.files, layout: layout), recorded: state.files,
            current: current, policy: policy)
        return findings
    }

    /// Reads `pieces` back and says of each whether it matches its hashes (none when they are missing).
    func verify(_ pieces: [PieceIndex]) async -> [Bool] {
        guard !pieces.isEmpty, let verifier = try? PieceVerifier(metainfo: metainfo) else { return [] }
        let report = await verifier.verify(storage, pieces: pieces)
        return pieces.map { report.valid[$0.value] }
    }
}
