/// Seeding in the daemon: a download that completed seeds on within the seed slots (``QueueJobs``
/// decides which), and a seed stops at its ratio or seeding-time limit.
extension QueueManager {
    /// Downloads that finished go on seeding (or stop when no seed slot is free); seeds that reached
    /// the ratio or seeding-time limit stop and become `completed`. Every download is looked at; every
    /// seed when `everySeed`, else the next slice of them (``PassRhythm/seedSlice(of:)``). The seeding
    /// time due to be saved is saved in one write. Nothing here goes over every session: the jobs keep
    /// the seeds and the downloads apart (``QueueJobs/seedIds``).
    func followSeeding(everySeed: Bool, onChange: @Sendable (String) -> Void) async throws {
        if everySeed { rhythm.lookedAtEverySeed() }
        let looked =
            Array(jobs.downloadIds) + (everySeed ? jobs.seedIds : rhythm.seedsToLook(at: jobs.seedIds))
        var toSave: [Int64: Int64] = [:]
        defer {
            if !toSave.isEmpty {
                do {
                    try store.addSeedingSeconds(toSave)
                    for (id, seconds) in toSave { savedSeedingSeconds[id, default: 0] += seconds }
                } catch {
                    // Counted again at the next save: the clocks gave these seconds up, so they are lost.
                    logger.warning("saving seeding time failed: \(error)")
                }
            }
        }
        var completed: [Int64] = []
        for id in looked.sorted() {
            guard let entry = jobs.active[id], entry.endState == nil else { continue }
            let status = await entry.work.status()
            let name = entry.record.name
            if !entry.seeding {
                guard status.isComplete, status.failure == nil else { continue }
                await entry.work.saveProgressNow()
                completed.append(id)
                continue
            }
            var savedNow = savedSeedingSeconds[id] ?? 0
            if let seconds = jobs.seedingSecondsToSave(id) {
                toSave[id] = seconds
                savedNow += seconds
            }
            if jobs.seedLacksData(id, status) {
                // It downloads again, in a download slot, and seeds once it is complete again.
                try store.markIncomplete(torrentId: id)
                try store.setState(torrentId: id, .downloading)
                onChange("downloading #\(id) \(name) again: its data is incomplete")
                continue
            }
            let seeded = savedNow + (jobs.active[id]?.seedClock.pending ?? 0)
            if let reached = limits.seedLimitReached(
                uploaded: status.uploaded, downloaded: status.downloaded, bytesDone: status.bytesDone,
                seededSeconds: seeded)
            {
                jobs.end(id, as: .completed)
                try store.recordEvent(torrentId: id, .seedLimit, detail: reached)
                onChange("stopped seeding #\(id) \(name): \(reached)")
                Task { await entry.work.stop() }
            }
        }
        try await settle(completed: completed, onChange: onChange)
    }

    /// Downloads found complete (their progress saved) seed on if a seed slot is free, else wait queued
    /// for one (or, when nothing may seed, are simply completed). Their `seeding` states are written in one
    /// transaction: with many downloads ending together, one write instead of one each.
    private func settle(completed: [Int64], onChange: @Sendable (String) -> Void) async throws {
        // Their progress was saved meanwhile: one that ended or stopped then is settled where it ended.
        let done = completed.filter { id in jobs.active[id].map { !$0.seeding && $0.endState == nil } ?? false }
        let maxSeeds = limits.settings.maxSeeds
        if maxSeeds > 0, !done.isEmpty { try store.setStates(done.map { ($0, .seeding) }) }
        for id in done {
            guard let entry = jobs.active[id] else { continue }
            let name = entry.record.name
            switch jobs.downloadCompleted(id, maxSeeds: maxSeeds) {
            case .completed:
                Task { await entry.work.stop() }
            case .seeding:
                if entry.checkingAhead {
                    // Checked ahead of its slot and found complete: it seeds from now on.
                    jobs.goesOn(id)
                    await entry.work.goOn()
                }
                onChange("completed #\(id) \(name); seeding")
            case .waitingForSeedSlot:
                onChange("completed #\(id) \(name); waiting for a seed slot")
                Task { await entry.work.stop() }
            case nil:
                break
            }
        }
    }

    /// Seeds beyond `max_active_seeds` (lowered while they run) stop: the ones furthest down the queue
    /// wait `queued` for a seed slot again (or are `completed` when nothing may seed).
    func trimSeeds(onChange: @Sendable (String) -> Void) {
        let maxSeeds = limits.settings.maxSeeds
        for entry in jobs.seedsBeyond(maxSeeds) {
            onChange("stopped seeding #\(entry.record.id) \(entry.record.name): max_active_seeds is \(maxSeeds)")
            Task { await entry.work.stop() }
        }
    }
}
