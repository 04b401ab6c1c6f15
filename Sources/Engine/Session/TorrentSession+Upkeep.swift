import NIOCore

extension TorrentSession {
    /// Periodic work: request pipelines, timeouts, keep-alives and saving progress.
    func tick() {
        let now = ContinuousClock.now
        for (key, var slot) in peers {
            slot.pipeline.tick(elapsed: configuration.tickInterval)
            if !slot.handshaken, now - slot.connectedAt > configuration.handshakeTimeout {
                slot.channel.close(promise: nil)
            } else if now - slot.lastMessageAt > configuration.inactivityTimeout {
                slot.channel.close(promise: nil)
            } else if !slot.machine.outstandingRequests.isEmpty,
                now - (slot.lastBlockAt ?? slot.connectedAt) > configuration.snubTimeout
            {
                // Snubbed: give its requests to others and let it start over with a shallow queue.
                for request in picker.peerDisconnected(key) {
                    if let message = slot.machine.cancel(request) { slot.send([message]) }
                }
                slot.pipeline = RequestPipeline(minimum: 16, maximum: 500)
                slot.lastBlockAt = now
            }
            if now - slot.lastKeepAliveSent > .seconds(90) {
                slot.send([PeerMessage.keepAlive])
                slot.lastKeepAliveSent = now
            }
            peers[key] = slot
        }
        rechokeIfDue(now: now)
        for key in peers.keys { fillRequests(key) }
        sendPeerExchange()
    }

    /// Puts a peer's record (its counters, a ban) in the journal, to go with the next batch: it is leaving,
    /// or was banned.
    func recordPeer(_ slot: PeerSlot, banned: Bool? = nil) {
        guard persistence.keepsProgress, slot.handshaken || banned != nil else { return }
        persistence.journal.record(slot.record(torrentId: persistence.torrentId ?? 0, banned: banned))
        // Outside ``run()``'s loop (an incoming peer closing after the last journal save) no journal interval
        // is coming: save now, on the writer like any batch.
        if !loopWaker.isRunning { Task { await self.saveProgress() } }
    }

    /// What the trackers are told we have done and have left, before each announce.
    func announceTotals() -> TrackerAnnouncer.Totals {
        let totals = statistics.totals
        return TrackerAnnouncer.Totals(
            uploaded: totals.uploaded, downloaded: totals.downloaded, left: picker.progress.bytesLeft)
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
