/// What the session tells its trackers, and what it takes from them.
extension TorrentSession {
    /// What the trackers are told we have done and have left, before each announce.
    func announceTotals() -> TrackerAnnouncer.Totals {
        let totals = core.swarm.statistics.totals
        return TrackerAnnouncer.Totals(
            uploaded: totals.uploaded, downloaded: totals.downloaded, left: core.swarm.picker.progress.bytesLeft)
    }

    /// Peers a tracker named become candidates; its status goes to the journal.
    func trackerEvent(_ event: TrackerAnnouncer.Event) {
        rests.poke()
        switch event {
        case .peers(let addresses, _):
            addPeers(addresses, source: .tracker)
        case .status(let status):
            persistence.journal.record(status)
        }
    }
}
