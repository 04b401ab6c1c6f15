import Foundation

/// Time spent seeding in this run, saved to the database now and then.
struct SeedClock {
    private var since: ContinuousClock.Instant?
    private var unsaved: Double = 0
    private var lastSave = ContinuousClock.now

    /// Seeding starts now.
    mutating func start() {
        since = .now
        lastSave = .now
    }

    /// Counts the time since the last call; true when it is time to save it.
    mutating func tick() -> Bool {
        guard let since else { return false }
        let now = ContinuousClock.now
        let elapsed = now - since
        unsaved += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        self.since = now
        return now - lastSave > .seconds(30)
    }

    /// Whole seconds not saved yet.
    var pending: Int64 { Int64(unsaved) }

    /// Takes the whole seconds to save (the fraction stays for next time).
    mutating func takeUnsaved() -> Int64 {
        _ = tick()
        let whole = Int64(unsaved)
        unsaved -= Double(whole)
        lastSave = .now
        return whole
    }
}

extension QueueManager {
    /// Downloads that finished go on seeding (or stop when no seed slot is free); seeds that reached
    /// the ratio or seeding-time limit stop and become `completed`.
    func followSeeding(onChange: @Sendable (String) -> Void) async throws {
        for id in active.keys.sorted() {
            guard let entry = active[id], entry.endState == nil else { continue }
            let status = await entry.work.status()
            let name = entry.record.name
            if !entry.seeding {
                guard status.isComplete, status.failure == nil else { continue }
                // The download is done: it seeds on if a seed slot is free, else waits queued for one
                // (or, when nothing may seed, it is simply completed).
                await entry.work.saveProgressNow()
                guard settings.maxSeeds > 0 else {
                    active[id]?.endState = .completed
                    Task { await entry.work.stop() }
                    continue
                }
                try store.setState(torrentId: id, .seeding)
                let seeds = active.values.filter(\.seeding).count
                if settings.maxSeeds > seeds {
                    active[id]?.seeding = true
                    active[id]?.seedClock.start()
                    onChange("completed #\(id) \(name); seeding")
                } else {
                    active[id]?.endState = .queued
                    onChange("completed #\(id) \(name); waiting for a seed slot")
                    Task { await entry.work.stop() }
                }
                continue
            }
            if active[id]?.seedClock.tick() == true, let seconds = active[id]?.seedClock.takeUnsaved() {
                try store.addSeedingSeconds(torrentId: id, seconds)
            }
            // Found incomplete at start: recorded as a download even when the missing pieces came back
            // before this look (they can take a fraction of a second).
            let repaired = status.wasIncompleteAtStart && entry.seedCheckPending
            guard (status.isComplete && !repaired) || status.isStarting || status.failure != nil else {
                // Its data went missing or was damaged (found when it started): it downloads again, in a
                // download slot, and seeds once it is complete again.
                active[id]?.seeding = false
                active[id]?.seedCheckPending = false
                try store.markIncomplete(torrentId: id)
                try store.setState(torrentId: id, .downloading)
                onChange("downloading #\(id) \(name) again: its data is incomplete")
                continue
            }
            let seeded = try store.seedingSeconds(torrentId: id) + (active[id]?.seedClock.pending ?? 0)
            let base = status.downloaded > 0 ? status.downloaded : status.bytesDone
            if let reached = seedLimitReached(uploaded: status.uploaded, base: base, seededSeconds: seeded) {
                active[id]?.endState = .completed
                try store.recordEvent(torrentId: id, .seedLimit, detail: reached)
                onChange("stopped seeding #\(id) \(name): \(reached)")
                Task { await entry.work.stop() }
            }
        }
    }

    /// Seeds beyond `max_active_seeds` (lowered while they run) stop: the ones furthest down the queue
    /// wait `queued` for a seed slot again (or are `completed` when nothing may seed).
    func trimSeeds(onChange: @Sendable (String) -> Void) {
        let seeds = active.filter { $0.value.seeding && $0.value.endState == nil }
            .sorted { $0.value.record.queuePosition < $1.value.record.queuePosition }
        guard seeds.count > settings.maxSeeds else { return }
        for (id, entry) in seeds.dropFirst(settings.maxSeeds) {
            active[id]?.endState = settings.maxSeeds > 0 ? .queued : .completed
            onChange("stopped seeding #\(id) \(entry.record.name): max_active_seeds is \(settings.maxSeeds)")
            Task { await entry.work.stop() }
        }
    }

    /// Whether a stored seed has reached a limit already, so it need not start.
    func seedLimitReached(_ record: TorrentRecord, uploaded: Int64, downloaded: Int64) throws -> String? {
        let base = downloaded > 0 ? downloaded : record.bytesDone
        return seedLimitReached(
            uploaded: uploaded, base: base, seededSeconds: try store.seedingSeconds(torrentId: record.id))
    }

    /// Which limit is reached, said for the history, or `nil`.
    func seedLimitReached(uploaded: Int64, base: Int64, seededSeconds: Int64) -> String? {
        settings.seedLimitReached(uploaded: uploaded, base: base, seededSeconds: seededSeconds)
    }
}
