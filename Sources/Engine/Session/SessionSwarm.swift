import NIOCore

/// The swarm as one torrent's session sees it: the peers connected, the addresses it may dial, the
/// picker that spreads block requests among the peers, and what went each way.
///
/// A value the session owns and changes on its actor. It starts no task and touches no file: what it
/// decides to tell a peer goes to that peer's outbox, and what needs the disk, the extension protocol
/// or the choker goes back to the session (see ``Followup``). So the wire-level decisions (interest,
/// request pipelines, cancels, seeds, timeouts) are tested without sockets.
struct SessionSwarm {
    /// The peers connected or connecting, by key (see ``PeerTable``).
    var peers = PeerTable()
    /// Addresses to dial, bounded (see ``PeerCandidateTable``).
    var candidates: PeerCandidateTable
    /// Which blocks to ask which peer for, and what is done.
    var picker: PiecePicker
    /// Lifetime totals, rates each way, and when data last came.
    var statistics: TransferStatistics

    /// The torrent's pieces and blocks (the picker's).
    var layout: PieceLayout { picker.layout }

    init(picker: PiecePicker, candidates: PeerCandidateTable, statistics: TransferStatistics) {
        self.picker = picker
        self.candidates = candidates
        self.statistics = statistics
    }

    /// Addresses to dial now, within the session's peer and dial limits. A complete torrent does not
    /// dial seeds.
    mutating func addressesToDial(now: ContinuousClock.Instant, maxPeers: Int, maxConnecting: Int) -> [PeerAddress] {
        let complete = picker.isComplete
        return candidates.takeDue(now: now, connected: peers.count, maxPeers: maxPeers, maxConnecting: maxConnecting) {
            !(complete && $0.isSeed)
        }
    }

    /// Takes a closed peer out: its requests go back to the picker, its pieces out of the availability,
    /// and its address waits for its next attempt. Returns its slot, or `nil` when it was gone already.
    mutating func remove(_ key: PeerKey, now: ContinuousClock.Instant) -> PeerSlot? {
        guard let slot = peers.remove(key) else { return nil }
        _ = picker.peerDisconnected(key)
        if slot.handshaken, !slot.availabilityWithdrawn {
            if slot.isSeed {
                picker.removeSeed()
            } else {
                picker.removeAvailability(slot.machine.peerPieces.indices)
            }
        }
        candidates.closed(slot.address, failed: !slot.handshaken, now: now)
        return slot
    }

    /// Periodic care of every peer: handshakes and silences that took too long close the connection, a
    /// peer that sits on its requests (snubbed) gives them to others and starts over with a shallow
    /// queue, and a keep-alive goes out after 90 s of our silence.
    mutating func upkeep(now: ContinuousClock.Instant, configuration: SessionConfiguration) {
        for (key, var slot) in peers {
            slot.pipeline.tick(elapsed: configuration.tickInterval)
            if !slot.handshaken, now - slot.connectedAt > configuration.handshakeTimeout {
                slot.channel.close(promise: nil)
            } else if now - slot.lastMessageAt > configuration.inactivityTimeout {
                slot.channel.close(promise: nil)
            } else if !slot.machine.outstandingRequests.isEmpty,
                now - (slot.lastBlockAt ?? slot.connectedAt) > configuration.snubTimeout
            {
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
    }

    /// What the choker needs of each handshaken peer for a round of `seconds`: its interest, its rates
    /// each way over the round, whether and since when it is unchoked. The round's counters start over.
    mutating func chokerRound(seconds: Double) -> [Choker.Peer] {
        var facts: [Choker.Peer] = []
        for (key, slot) in peers where slot.handshaken {
            facts.append(
                Choker.Peer(
                    key: key, isInterested: slot.machine.peerInterested,
                    downloadRate: Double(slot.upload.downloadedInRound) / seconds,
                    uploadRate: Double(slot.upload.uploadedInRound) / seconds,
                    isUnchoked: !slot.machine.amChoking, unchokedSince: slot.upload.unchokedSince))
            peers[key]?.upload.downloadedInRound = 0
            peers[key]?.upload.uploadedInRound = 0
        }
        return facts
    }
}
