import Logging
import Synchronization

/// What a ``JournalRunner`` needs of the session whose progress it saves: the journal's state and the
/// pieces in memory stay with the session (on its actor); the runner asks for them once per step, and
/// never once per block.
protocol JournalHost: Actor {
    /// A journal interval begins: returns its number (blocks remember the interval they arrived in).
    func beginJournalInterval() -> Int
    /// The pieces gathered in memory now.
    func assembledPieces() -> [PieceIndex]
    /// Copies of the runs of blocks of `piece` that arrived before interval `epoch`, with the assembly's
    /// generation (see ``PieceAssemblies/flushPlan(_:before:)``).
    func flushPlan(_ piece: PieceIndex, before epoch: Int) -> (generation: Int, runs: [PieceAssemblies.Run])?
    /// A run of `piece` reached the files; false when the piece changed meanwhile (its rest is not flushed).
    func flushed(_ piece: PieceIndex, generation: Int, first: Int, count: Int) -> Bool
    /// What changed since the last save, as one batch with the files' sizes and times `stats` (peers'
    /// counters included); `nil` when nothing changed.
    func takeJournalBatch(torrentId: Int64, stats: [FileStat]) -> ProgressBatch?
    /// Runs `change` on the session's journal (the batch's outcome, checkpoints, the rollback).
    func changeJournal<T: Sendable>(_ change: (inout ProgressJournal) -> T) -> T
    /// Waits until no other save of the journal runs, then holds the turn until ``endJournalTurn()``.
    func beginJournalTurn() async
    /// Hands the turn to the next waiter, if any.
    func endJournalTurn()
    /// Stops the torrent for a fault.
    func fail(_ reason: String)
    /// Whether the runner may rest until the session is poked, instead of looking again: false unless the
    /// torrent is idle (no connection, nothing in memory) and everything journaled is checkpointed.
    func journalMayRest() -> Bool
}

extension JournalHost {
    /// A host that never rests: the runner looks at it every few intervals.
    func journalMayRest() -> Bool { false }
}

/// The progress journal's rhythm and its I/O for one session (DESIGN.md, persistence invariants 1 to
/// 3): every journal interval, blocks of slow pieces are written out and everything that changed goes
/// to the resume store in one transaction; every checkpoint interval, the files are synced and what was
/// journaled before the sync becomes durable. Writes to the store run on the ``ResumeWriter``'s
/// thread, so the session's actor goes on serving peers while the store works or waits for a lock.
struct JournalRunner: Sendable {
    let storage: any PieceStorage
    /// Where progress goes, and the torrent's id there; without both nothing is kept.
    let store: (any ResumeStore)?
    let torrentId: Int64?
    let writer: ResumeWriter
    let journalInterval: Duration
    let checkpointInterval: Duration
    let logger: Logger

    /// How many journal intervals an idle torrent waits at most between two looks: an interval that
    /// found nothing to write doubles the wait, up to this many intervals (1 s at the default 100 ms);
    /// one that wrote something goes back to one interval. A daemon seeding thousands of torrents that
    /// nobody asks for then looks at each once a second instead of ten times; the first change after an
    /// idle spell is journaled within that second.
    static let idleIntervals = 10

    /// The wait before the next look: one interval after a look that wrote something, else twice the
    /// last wait, at most ``idleIntervals`` intervals.
    func nextWait(after wait: Duration, wrote: Bool) -> Duration {
        wrote ? journalInterval : min(wait * 2, journalInterval * Self.idleIntervals)
    }

    /// Where a run of the runner is between two looks (see ``step(for:rhythm:)``).
    struct Rhythm: Sendable {
        /// When the last checkpoint was committed (or the run began).
        var lastCheckpoint = ContinuousClock.now
        /// The wait before the next look.
        var wait: Duration
        /// The last step left the runner resting until the host is poked.
        var resting = false
    }

    /// The rhythm a run starts with: a look one interval from now.
    var firstRhythm: Rhythm { Rhythm(wait: journalInterval) }

    /// One look of a run of journals and checkpoints for `host`, as a ``Scheduler`` job: journals, commits
    /// a checkpoint when one is due, and says when to look next. Once a look found nothing at the longest
    /// wait, it rests until the host is poked when the host allows it (``JournalHost/journalMayRest()``): an
    /// idle torrent costs nothing between two changes, and holds no task. A step that ends a rest only
    /// sets the next look one interval away, as the first one of a run.
    func step(for host: some JournalHost, rhythm: inout Rhythm) async -> Scheduler.Next {
        if rhythm.resting {
            rhythm.resting = false
            rhythm.wait = journalInterval
            return .at(.now + rhythm.wait)
        }
        let wrote = await journal(for: host)
        rhythm.wait = nextWait(after: rhythm.wait, wrote: wrote)
        if ContinuousClock.now - rhythm.lastCheckpoint >= checkpointInterval {
            await checkpoint(for: host)
            rhythm.lastCheckpoint = .now
        }
        if !wrote, rhythm.wait >= journalInterval * Self.idleIntervals, await host.journalMayRest() {
            rhythm.resting = true
            return .rest(until: nil)
        }
        return .at(.now + rhythm.wait)
    }

    /// One journal interval: writes the blocks of unfinished pieces that waited a whole interval in
    /// memory (all of them when `everything`), then records what changed. Returns false when there was
    /// nothing to write or record.
    @discardableResult
    func journal(for host: some JournalHost, everything: Bool = false) async -> Bool {
        let epoch = await host.beginJournalInterval()
        var wrote = false
        if store != nil, torrentId != nil {
            wrote = await flushAssemblies(of: host, before: everything ? Int.max : epoch - 1)
        }
        wrote = await save(for: host) || wrote
        // Write-behind: what reached the files this interval starts going to the disk now, so the next
        // checkpoint's sync (and the last one, at the end) has little left to wait for; what went out
        // before leaves the page cache.
        await storage.startWriteback()
        return wrote
    }

    /// Writes received blocks of unfinished pieces that arrived before journal interval `epoch`, so the
    /// journal may call them complete (nothing it records is a lie: the bytes are in the files first).
    /// Returns whether any piece was gathered in memory (so data is flowing).
    private func flushAssemblies(of host: some JournalHost, before epoch: Int) async -> Bool {
        let pieces = await host.assembledPieces()
        for piece in pieces {
            // Only the generation and copies of the runs are kept across the writes: holding the assembly
            // itself would make the next block into it copy the whole piece buffer.
            guard let (generation, runs) = await host.flushPlan(piece, before: epoch) else { continue }
            for run in runs {
                do {
                    try await storage.write(piece: piece, begin: run.first * PieceLayout.blockSize, bytes: run.bytes)
                } catch {
                    await host.fail("cannot write to disk: \(error)")
                    return true
                }
                // The piece may have completed (and gone to be stored whole) during the write.
                guard await host.flushed(piece, generation: generation, first: run.first, count: run.count) else {
                    break
                }
            }
        }
        return !pieces.isEmpty
    }

    /// Writes what changed since the last save in one transaction: verified pieces, block masks,
    /// counters, file sizes and times, peers, trackers and events. One save runs at a time (the host's
    /// turn); a later caller waits for it, then saves what changed since. Returns false when nothing had
    /// changed.
    @discardableResult
    func save(for host: some JournalHost) async -> Bool {
        guard let store, let torrentId else {
            await host.changeJournal { $0.discardUnsaved() }
            return false
        }
        await host.beginJournalTurn()
        // Taken first: the file times must not be older than the writes the records below stand for.
        let stats: [FileStat]
        do {
            stats = try await storage.takeWrittenFileStats()
        } catch {
            logger.warning("reading file times failed: \(error)")
            stats = []
        }
        guard let batch = await host.takeJournalBatch(torrentId: torrentId, stats: stats) else {
            await host.endJournalTurn()
            return false
        }
        let clock = ContinuousClock()
        let started = clock.now
        var saved = true
        do {
            try await writer.save(batch, to: store)
        } catch {
            logger.warning("saving progress failed, will retry: \(error)")
            saved = false
        }
        let time = clock.now - started
        if saved { JournalLatencies.shared.recordCommit(time) }
        await host.changeJournal { saved ? $0.batchSaved(time: time) : $0.batchFailed() }
        await host.endJournalTurn()
        return true
    }

    /// Syncs the files written since the last checkpoint, then makes what was journaled before the sync
    /// durable.
    ///
    /// The checkpoint is stamped with the time its snapshot was taken, before the sync: whatever the
    /// journal records from then on is newer than the checkpoint, which is how the next start tells
    /// what a power loss may have taken (``ResumePolicy/distrustsLatestProgress(checkpointAt:recordedAt:)``).
    /// The snapshot is what the store has (batches committed), so the record goes to the writer after
    /// them. A failed sync is never retried into a success: see ``syncFailed(_:for:)``.
    func checkpoint(for host: some JournalHost) async {
        guard let store, let torrentId,
            let snapshot = await host.changeJournal({ $0.checkpointSnapshot(torrentId: torrentId) })
        else { return }
        let takenAt = Timestamp.now
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await storage.flush()
        } catch {
            await syncFailed(error, for: host)
            return
        }
        do {
            try await writer.perform { try store.commitCheckpoint([snapshot], at: takenAt) }
            let time = clock.now - started
            JournalLatencies.shared.recordCheckpoint(time)
            await host.changeJournal { $0.checkpointCommitted(snapshot, time: time) }
        } catch {
            // The files were synced; only the record failed. The next checkpoint records a newer snapshot.
            logger.warning("durable checkpoint failed, will retry: \(error)")
        }
    }

    /// A sync failed: what was written since the last good checkpoint may never reach the disk, and no
    /// later sync would say so (Linux reports a failed write-back once). No checkpoint is committed from
    /// now on; the journal goes back to the last checkpoint (pieces verified since are recorded as
    /// unverified with all their blocks written, so the next start hashes them from the files); the
    /// torrent stops with the error.
    private func syncFailed(_ error: any Error, for host: some JournalHost) async {
        await host.beginJournalTurn()
        let layout = storage.layout
        let taken = await host.changeJournal { $0.loseDurability(torrentId: torrentId ?? 0, layout: layout) }
        if let (batch, rollback) = taken, let store {
            do {
                try await writer.save(batch, to: store)
                await host.changeJournal { $0.rollbackSaved(rollback) }
            } catch {
                logger.error("recording the rollback to the last checkpoint failed: \(error)")
            }
        }
        await host.endJournalTurn()
        await host.fail(
            "cannot sync to disk: \(error); \(taken?.1.unverified.count ?? 0) piece(s) verified since the last"
                + " durable checkpoint will be checked again")
    }
}

/// Holds a ``JournalRunner/Rhythm`` between two steps of a scheduled run (a ``Scheduler`` job runs one
/// step at a time, so taking it and putting it back never overlap).
final class JournalRhythmBox: Sendable {
    private let rhythm: Mutex<JournalRunner.Rhythm>

    init(_ rhythm: JournalRunner.Rhythm) {
        self.rhythm = Mutex(rhythm)
    }

    func take() -> JournalRunner.Rhythm { rhythm.withLock { $0 } }

    func put(_ new: JournalRunner.Rhythm) { rhythm.withLock { $0 = new } }
}
