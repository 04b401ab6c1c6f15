import NIOCore

extension TorrentSession {
    /// Periodic work: request pipelines, timeouts, keep-alives and saving progress.
    func tick() {
        let now = ContinuousClock.now
        swarm.upkeep(now: now, configuration: configuration)
        rechokeIfDue(now: now)
        swarm.fillAllRequests(limits: limits)
        sendPeerExchange()
    }

    /// Puts a peer's record (its counters, a ban) in the journal, to go with the next batch: it is leaving,
    /// or was banned.
    func recordPeer(_ slot: PeerSlot, banned: Bool? = nil) {
        guard persistence.keepsProgress, slot.handshaken || banned != nil else { return }
        persistence.journal.record(slot.record(torrentId: persistence.torrentId ?? 0, banned: banned))
        // Outside ``run()``'s loop (an incoming peer closing after the last journal save) no journal interval
        // is coming: save now, on the writer like any batch.
        if !lifecycle.waker.isRunning { Task { await self.saveProgress() } }
    }

    /// What the trackers are told we have done and have left, before each announce.
    func announceTotals() -> TrackerAnnouncer.Totals {
        let totals = swarm.statistics.totals
        return TrackerAnnouncer.Totals(
            uploaded: totals.uploaded, downloaded: totals.downloaded, left: swarm.picker.progress.bytesLeft)
    }

    func trackerEvent(_ event: TrackerAnnouncer.Event) {
        switch event {
        case .peers(let addresses, _):
            addPeers(addresses, source: .tracker)
        case .status(let status):
            persistence.journal.record(status)
        }
    }
}
