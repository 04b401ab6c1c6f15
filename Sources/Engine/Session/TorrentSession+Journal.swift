/// The progress journal's side in the session: what ``JournalRunner`` takes from the session's parts
/// and gives back to them, one step at a time.
extension TorrentSession: JournalHost {
    /// Saves and syncs this session's progress (see ``JournalRunner``).
    var journalRunner: JournalRunner {
        JournalRunner(
            storage: storage, store: persistence.store, torrentId: persistence.torrentId, writer: persistence.writer,
            journalInterval: configuration.journalInterval, checkpointInterval: configuration.checkpointInterval,
            logger: logger)
    }

    func beginJournalInterval() -> Int { persistence.nextEpoch() }

    func assembledPieces() -> [PieceIndex] { Array(core.verification.assemblies.byPiece.keys) }

    func flushPlan(_ piece: PieceIndex, before epoch: Int) -> (generation: Int, runs: [PieceAssemblies.Run])? {
        core.verification.assemblies.flushPlan(piece, before: epoch)
    }

    func flushed(_ piece: PieceIndex, generation: Int, first: Int, count: Int) -> Bool {
        core.flushed(piece, generation: generation, first: first, count: count)
    }

    func takeJournalBatch(torrentId: Int64, stats: [FileStat]) -> ProgressBatch? {
        core.takeJournalBatch(from: &persistence.journal, torrentId: torrentId, stats: stats)
    }

    func changeJournal<T: Sendable>(_ change: (inout ProgressJournal) -> T) -> T { change(&persistence.journal) }

    func beginJournalTurn() async {
        guard !persistence.turn.take() else { return }
        await withCheckedContinuation { persistence.turn.wait($0) }
    }

    func endJournalTurn() { persistence.turn.handOver() }

    func journalMayRest() -> Bool {
        lifecycle.isRunning && !lifecycle.closingPeers
            && (persistence.store == nil || !persistence.journal.awaitsCheckpoint)
            && core.verification.assemblies.byPiece.isEmpty
            && core.tickNeed(now: .now, interval: configuration.tickInterval) != .now
    }

    /// The journal's looks as a ``Scheduler`` job for this run (see ``JournalRunner/step(for:rhythm:)``).
    func journalJob() -> Scheduler.Action {
        let runner = journalRunner
        let rhythm = JournalRhythmBox(runner.firstRhythm)
        return { [self] in
            var current = rhythm.take()
            let next = await runner.step(for: self, rhythm: &current)
            rhythm.put(current)
            return next
        }
    }

    /// Saves what changed since the last save now (pieces, totals, peers), rather than at the next
    /// journal interval: before the queue records a state that depends on it, such as `seeding`.
    package func saveProgressNow() async { await journalRunner.save(for: self) }

    /// Journal transactions committed by this session.
    package var journalTransactions: Int { persistence.journal.statistics.transactions }

    /// What the journal cost this session, for logs and benchmarks.
    package func journalReport() -> String {
        persistence.journal.statistics.report(over: core.swarm.statistics.age(at: .now))
    }
}
