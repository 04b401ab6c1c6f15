/// What the progress journal takes from the swarm and the pieces in memory (see ``JournalRunner``).
extension SessionCore {
    /// Blocks `first..<first + count` of `piece`, from a flush plan of its assembly of `generation`,
    /// are in the files: the picker counts them written. False when that assembly is gone meanwhile
    /// (the piece completed and was stored whole, or started again): the rest of the plan no longer holds.
    mutating func flushed(_ piece: PieceIndex, generation: Int, first: Int, count: Int) -> Bool {
        guard verification.assemblies.flushed(piece, generation: generation, first: first, count: count) else {
            return false
        }
        for block in first..<first + count {
            _ = swarm.picker.blockWritten(layout.request(piece: piece, block: BlockIndex(block)))
        }
        return true
    }

    /// Moves connected peers' unsaved counters into `journal`, then takes what changed since the last
    /// save from it as one batch, with the picker's verdicts and masks, the totals and the files' `stats`.
    mutating func takeJournalBatch(
        from journal: inout ProgressJournal, torrentId: Int64, stats: [FileStat]
    ) -> ProgressBatch? {
        for key in Array(swarm.peers.keys) {
            guard let slot = swarm.peers[key], slot.hasUnsavedCounters else { continue }
            journal.record(slot.record(torrentId: torrentId))
            swarm.peers[key]?.countersRecorded()
        }
        recordWebSeeds(in: &journal, torrentId: torrentId)
        let picker = swarm.picker
        return journal.takeBatch(
            torrentId: torrentId, masks: picker.writtenBlockMasks, isVerified: { picker.has($0) },
            totals: swarm.statistics.totals, stats: stats)
    }

    /// Takes in what the start check found (see ``ProgressRestorer/find()``): the recorded totals and
    /// journal, then the pieces and blocks trusted as done (which may add pieces to recheck). Returns
    /// how many blocks of unfinished pieces were kept.
    mutating func restore(_ found: inout ProgressRestorer.Found, journal: inout ProgressJournal) -> Int {
        if let (state, durable) = found.recorded {
            swarm.statistics.restore(state.totals)
            journal.restore(verified: state.verified, masks: state.blockMasks, durable: durable, totals: state.totals)
        }
        return found.findings.apply(to: &swarm.picker, assemblies: &verification.assemblies)
    }
}
