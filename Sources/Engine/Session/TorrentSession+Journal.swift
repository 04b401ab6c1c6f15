import Foundation

/// The progress journal (DESIGN.md, persistence invariants 1 to 3): every journal interval, blocks of
/// slow pieces are written out and everything that changed goes to the resume store in one
/// transaction; every checkpoint interval, the files are synced and what was journaled before the sync
/// becomes durable.
extension TorrentSession {
    /// Journals and checkpoints until cancelled (the session's task group ends it).
    func runJournal() async {
        var lastCheckpoint = ContinuousClock.now
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.journalInterval)
            } catch {
                return
            }
            await journal()
            if ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval {
                await checkpoint()
                lastCheckpoint = .now
            }
        }
    }

    /// One journal interval: writes the blocks of unfinished pieces that waited a whole interval in
    /// memory (all of them when `everything`), then records what changed.
    func journal(everything: Bool = false) async {
        journalEpoch += 1
        if resume != nil, torrentId != nil {
            await flushAssemblies(before: everything ? Int.max : journalEpoch - 1)
        }
        await saveProgress()
        // Write-behind: what reached the files this interval starts going to the disk now, so the next
        // checkpoint's sync (and the last one, at the end) has little left to wait for; what went out
        // before leaves the page cache.
        await storage.startWriteback()
    }

    /// Writes received blocks of unfinished pieces that arrived before journal epoch `epoch`, so the
    /// journal may call them complete (nothing it records is a lie: the bytes are in the files first).
    private func flushAssemblies(before epoch: Int) async {
        for piece in Array(assemblies.keys) {
            // Only the generation and copies of the runs are kept across the writes: holding the assembly
            // itself would make the next block into it copy the whole piece buffer.
            guard let plan = flushPlan(piece, before: epoch) else { continue }
            let (generation, runs) = plan
            for run in runs {
                do {
                    try await storage.write(piece: piece, begin: run.first * PieceLayout.blockSize, bytes: run.bytes)
                } catch {
                    fail("cannot write to disk: \(error)")
                    return
                }
                // The piece may have completed (and gone to be stored whole) during the write.
                guard var current = assemblies.removeValue(forKey: piece) else { break }
                guard current.generation == generation else {
                    assemblies[piece] = current
                    break
                }
                current.markFlushed(first: run.first, count: run.count)
                assemblies[piece] = current
                for block in run.first..<run.first + run.count {
                    _ = picker.blockWritten(layout.request(piece: piece, block: BlockIndex(block)))
                }
            }
        }
    }

    private func flushPlan(_ piece: PieceIndex, before epoch: Int) -> (Int, [(first: Int, count: Int, bytes: [UInt8])])?
    {
        guard let assembly = assemblies[piece] else { return nil }
        return (assembly.generation, assembly.blocksToFlush(before: epoch, blockLength: PieceLayout.blockSize))
    }

    /// The block masks of unfinished pieces as they stand: blocks that are in the files.
    private func currentMasks() -> [PieceIndex: Bitfield] {
        var masks: [PieceIndex: Bitfield] = [:]
        for piece in picker.piecesInProgress {
            let written = picker.writtenBlocks(in: piece)
            guard !written.isEmpty else { continue }
            var mask = Bitfield(count: layout.blockCount(in: piece))
            for block in written { mask.set(block.value) }
            masks[piece] = mask
        }
        return masks
    }

    /// Writes what changed since the last save in one transaction: verified pieces, block masks, counters,
    /// file sizes and times, peers, trackers and events.
    func saveProgress() async {
        lastSave = .now
        guard let resume, let torrentId else {
            unsavedPieces = [:]
            unsavedTotals = TransferTotals()
            return
        }
        // Taken first: the file times must not be older than the writes the records below stand for. Nothing
        // after this suspends, so the batch is one consistent picture.
        let stats: [FileStat]
        do {
            stats = try await storage.takeWrittenFileStats()
        } catch {
            logger.warning("reading file times failed: \(error)")
            stats = []
        }
        let masks = currentMasks()
        var changedMasks: [PieceIndex: Bitfield] = [:]
        for (piece, mask) in masks where journaledMasks[piece] != mask { changedMasks[piece] = mask }
        for (piece, mask) in journaledMasks where masks[piece] == nil && !picker.has(piece) {
            changedMasks[piece] = Bitfield(count: mask.count)
        }
        if durabilityLost {
            // After a failed sync nothing newly written can be made durable: no new progress is recorded
            // (pieces found bad still are).
            changedMasks = [:]
            unsavedPieces = unsavedPieces.filter { !$0.value }
        }
        var peerUpdates: [(PeerKey, PeerUpdate)] = []
        for (key, slot) in peers
        where slot.downloadedUnsaved > 0 || slot.hashFailuresUnsaved > 0 || slot.upload.uploadedUnsaved > 0 {
            peerUpdates.append((key, peerUpdate(slot)))
        }
        let progress = TorrentProgress(
            torrentId: torrentId, pieces: unsavedPieces, blockMasks: changedMasks, transferred: unsavedTotals,
            fileStats: stats)
        let batch = ProgressBatch(
            torrents: [progress], peers: peerUpdates.map(\.1),
            trackers: unsavedTrackers.values.map { TrackerUpdate($0, torrentId: torrentId) }, events: unsavedEvents)
        guard !batch.isEmpty else { return }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try resume.saveProgress(batch)
        } catch {
            logger.warning("saving progress failed, will retry: \(error)")
            return
        }
        journalTime += clock.now - started
        journalTransactions += 1
        for (key, update) in peerUpdates {
            peers[key]?.downloadedUnsaved -= update.downloadedDelta
            peers[key]?.hashFailuresUnsaved -= update.hashFailuresDelta
            peers[key]?.upload.uploadedUnsaved -= update.uploadedDelta
        }
        for (piece, isVerified) in unsavedPieces {
            journaledVerified.set(piece.value, to: isVerified)
            if isVerified { journaledMasks[piece] = nil }
        }
        for (piece, mask) in changedMasks where !journaledVerified.contains(piece.value) {
            journaledMasks[piece] = mask.isNone ? nil : mask
        }
        unsavedPieces = [:]
        unsavedTotals = TransferTotals()
        unsavedEvents = []
        unsavedTrackers = [:]
    }

    /// What the journal cost this session, for logs and benchmarks.
    public func journalReport() -> String {
        func ms(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        }
        let seconds = ms(ContinuousClock.now - sessionStart) / 1000
        let rate = seconds > 0 ? Double(journalTransactions) / seconds : 0
        return String(
            format:
                "journal: %d transactions in %.1f s (%.1f/s), %.1f ms in the store; %d checkpoints, %.1f ms syncing",
            journalTransactions, seconds, rate, ms(journalTime), checkpointCount, ms(checkpointTime))
    }

    /// Syncs the files written since the last checkpoint, then makes what was journaled before the sync
    /// durable.
    ///
    /// The checkpoint is stamped with the time its snapshot was taken, before the sync: whatever the
    /// journal records from then on is newer than the checkpoint, which is how the next start tells
    /// what a power loss may have taken (``ResumePolicy/distrustsLatestProgress(checkpointAt:recordedAt:)``).
    /// A failed sync is never retried into a success: see ``syncFailed(_:)``.
    func checkpoint() async {
        guard let resume, let torrentId, !durabilityLost else { return }
        let snapshot = DurableCheckpoint(torrentId: torrentId, verified: journaledVerified, blockMasks: journaledMasks)
        guard snapshot != lastCheckpoint else { return }
        let takenAt = Timestamp.now
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await storage.flush()
        } catch {
            syncFailed(error)
            return
        }
        do {
            try resume.commitCheckpoint([snapshot], at: takenAt)
            lastCheckpoint = snapshot
            checkpointCount += 1
            checkpointTime += clock.now - started
        } catch {
            // The files were synced; only the record failed. The next checkpoint records a newer snapshot.
            logger.warning("durable checkpoint failed, will retry: \(error)")
        }
    }

    /// A sync failed: what was written since the last good checkpoint may never reach the disk, and no
    /// later sync would say so (Linux reports a failed write-back once). No checkpoint is committed from
    /// now on; the journal goes back to the last checkpoint (pieces verified since are recorded as
    /// unverified with all their blocks written, so the next start hashes them from the files); the torrent
    /// stops with the error.
    func syncFailed(_ error: any Error) {
        durabilityLost = true
        let base =
            lastCheckpoint
            ?? DurableCheckpoint(torrentId: torrentId ?? 0, verified: Bitfield(count: layout.pieceCount))
        // Pieces verified but not journaled yet go back too: they are written, not durable.
        var latest = journaledVerified
        for (piece, isVerified) in unsavedPieces where isVerified { latest.set(piece.value) }
        let rollback = base.rollback(verified: latest, masks: journaledMasks, layout: layout)
        if !rollback.isEmpty, let resume, let torrentId {
            var pieces: [PieceIndex: Bool] = [:]
            for piece in rollback.unverified { pieces[piece] = false }
            do {
                try resume.saveProgress(
                    ProgressBatch(torrents: [
                        TorrentProgress(torrentId: torrentId, pieces: pieces, blockMasks: rollback.masks)
                    ]))
                journaledVerified = rollback.verified
                journaledMasks = rollback.journaledMasks
                for piece in rollback.unverified { unsavedPieces[piece] = nil }
            } catch {
                logger.error("recording the rollback to the last checkpoint failed: \(error)")
            }
        }
        fail(
            "cannot sync to disk: \(error); \(rollback.unverified.count) piece(s) verified since the last durable"
                + " checkpoint will be checked again")
    }
}
