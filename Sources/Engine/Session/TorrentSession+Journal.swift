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
        let epoch = persistence.nextEpoch()
        if persistence.keepsProgress {
            await flushAssemblies(before: everything ? Int.max : epoch - 1)
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
        for piece in Array(verification.assemblies.byPiece.keys) {
            // Only the generation and copies of the runs are kept across the writes: holding the assembly
            // itself would make the next block into it copy the whole piece buffer.
            guard let (generation, runs) = verification.assemblies.flushPlan(piece, before: epoch) else { continue }
            for run in runs {
                do {
                    try await storage.write(piece: piece, begin: run.first * PieceLayout.blockSize, bytes: run.bytes)
                } catch {
                    fail("cannot write to disk: \(error)")
                    return
                }
                // The piece may have completed (and gone to be stored whole) during the write.
                guard
                    verification.assemblies.flushed(piece, generation: generation, first: run.first, count: run.count)
                else { break }
                for block in run.first..<run.first + run.count {
                    _ = swarm.picker.blockWritten(layout.request(piece: piece, block: BlockIndex(block)))
                }
            }
        }
    }

    /// Writes what changed since the last save in one transaction: verified pieces, block masks, counters,
    /// file sizes and times, peers, trackers and events.
    ///
    /// The write runs on the ``ResumeWriter``'s thread: while the store works (or waits for a lock another
    /// process holds) this actor goes on serving peers, and what changes meanwhile waits in the journal
    /// for the next batch. One save runs at a time (``JournalTurn``); a later caller waits for it, then
    /// saves what changed since.
    func saveProgress() async {
        guard let resume = persistence.store, let torrentId = persistence.torrentId else {
            persistence.journal.discardUnsaved()
            return
        }
        await beginJournalTurn()
        defer { endJournalTurn() }
        // Taken first: the file times must not be older than the writes the records below stand for. Nothing
        // after this suspends until the batch is taken, so the batch is one consistent picture.
        let stats: [FileStat]
        do {
            stats = try await storage.takeWrittenFileStats()
        } catch {
            logger.warning("reading file times failed: \(error)")
            stats = []
        }
        for key in Array(swarm.peers.keys) { takePeerCounters(key) }
        let masks = swarm.picker.writtenBlockMasks
        guard
            let batch = persistence.journal.takeBatch(
                torrentId: torrentId, masks: masks, isVerified: { swarm.picker.has($0) },
                totals: swarm.statistics.totals,
                stats: stats)
        else { return }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await persistence.writer.perform { try resume.saveProgress(batch) }
        } catch {
            persistence.journal.batchFailed()
            logger.warning("saving progress failed, will retry: \(error)")
            return
        }
        persistence.journal.statistics.storeTime += clock.now - started
        persistence.journal.batchSaved()
    }

    /// Moves a connected peer's unsaved counters into the journal.
    private func takePeerCounters(_ key: PeerKey) {
        guard let slot = swarm.peers[key], slot.hasUnsavedCounters else { return }
        persistence.journal.record(slot.record(torrentId: persistence.torrentId ?? 0))
        swarm.peers[key]?.countersRecorded()
    }

    /// Journal transactions committed by this session.
    package var journalTransactions: Int { persistence.journal.statistics.transactions }

    /// What the journal cost this session, for logs and benchmarks.
    package func journalReport() -> String {
        persistence.journal.statistics.report(over: swarm.statistics.age(at: .now))
    }

    /// Syncs the files written since the last checkpoint, then makes what was journaled before the sync
    /// durable.
    ///
    /// The checkpoint is stamped with the time its snapshot was taken, before the sync: whatever the
    /// journal records from then on is newer than the checkpoint, which is how the next start tells
    /// what a power loss may have taken (``ResumePolicy/distrustsLatestProgress(checkpointAt:recordedAt:)``).
    /// The snapshot is what the store has (batches committed), so the record goes to the writer after them.
    /// A failed sync is never retried into a success: see ``syncFailed(_:)``.
    func checkpoint() async {
        guard let resume = persistence.store, let torrentId = persistence.torrentId,
            let snapshot = persistence.journal.checkpointSnapshot(torrentId: torrentId)
        else {
            return
        }
        let takenAt = Timestamp.now
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await storage.flush()
        } catch {
            await syncFailed(error)
            return
        }
        do {
            try await persistence.writer.perform { try resume.commitCheckpoint([snapshot], at: takenAt) }
            persistence.journal.checkpointCommitted(snapshot, time: clock.now - started)
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
    func syncFailed(_ error: any Error) async {
        await beginJournalTurn()
        defer { endJournalTurn() }
        let taken = persistence.journal.loseDurability(torrentId: persistence.torrentId ?? 0, layout: layout)
        if let (batch, rollback) = taken, let resume = persistence.store, persistence.torrentId != nil {
            do {
                try await persistence.writer.perform { try resume.saveProgress(batch) }
                persistence.journal.rollbackSaved(rollback)
            } catch {
                logger.error("recording the rollback to the last checkpoint failed: \(error)")
            }
        }
        fail(
            "cannot sync to disk: \(error); \(taken?.1.unverified.count ?? 0) piece(s) verified since the last"
                + " durable checkpoint will be checked again")
    }
}

extension TorrentSession {
    /// Waits until no other save of the journal runs, then holds the turn until ``endJournalTurn()``.
    func beginJournalTurn() async {
        guard !persistence.turn.take() else { return }
        await withCheckedContinuation { persistence.turn.wait($0) }
    }

    /// Hands the turn to the next waiter, if any.
    func endJournalTurn() {
        persistence.turn.handOver()
    }
}
