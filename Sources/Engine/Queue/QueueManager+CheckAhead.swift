/// Checks ahead of the download slots in the daemon: while every download slot is taken, up to
/// `check_ahead` queued torrents that never ran start a session that checks their data and waits there
/// (``SessionConfiguration/holdsAfterStartCheck``), holding no download slot. Torrents added with their
/// data in place then seed as fast as their data is checked, not a slotful at a time (the check-ahead,
/// like libtorrent's and qBittorrent's checking queue, is what makes a first start of thousands of seeds
/// fast). One found complete seeds (``followSeeding(everySeed:onChange:)``); one found incomplete takes a
/// download slot if one is free, else stops and waits `queued`, its data checked and its progress saved,
/// so its start in a slot later reads nothing back.
extension QueueManager {
    /// The downloads started ahead of their slot whose start check is done and that are not complete:
    /// each takes a free download slot (in queue order), or stops and waits `queued` with a `checked`
    /// event saying what it has.
    func settleChecksAhead(onChange: @Sendable (String) -> Void) async throws {
        guard !jobs.checkingAhead.isEmpty else { return }
        var free = maxActive() - jobs.downloadSlotsHeld
        let held = jobs.checkingAhead.compactMap { jobs.active[$0] }.filter { $0.endState == nil && !$0.abandoned }
            .sorted { $0.record.queuePosition < $1.record.queuePosition }
        for entry in held {
            let status = await entry.work.status()
            // A complete one seeds or waits for a seed slot (the seeding look); a failed one ends.
            guard !status.isStarting, !status.isComplete, status.failure == nil else { continue }
            let id = entry.record.id
            let name = entry.record.name
            if free > 0 {
                free -= 1
                jobs.goesOn(id)
                try store.setState(torrentId: id, .downloading)
                await entry.work.goOn()
                onChange("started #\(id) \(name)")
                continue
            }
            jobs.end(id, as: .queued)
            let found = Self.checkedAhead(status)
            try store.markCheckedAhead(torrentId: id, detail: found + "; queued for a download slot")
            onChange("checked #\(id) \(name): \(found); queued")
            Task { await entry.work.stop() }
        }
    }

    /// What a check ahead found, said for the history.
    static func checkedAhead(_ status: TorrentStatus) -> String {
        "checked ahead of its download slot: \(status.piecesDone) of \(status.piecesWanted) wanted pieces there"
    }
}
