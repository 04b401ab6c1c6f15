import NIOCore

/// Most `piece` bytes waiting in a peer's outbox; beyond it the peer's blocks are read only as the
/// socket takes the earlier ones. At most half the peer's queue limit, so uploading alone never makes
/// a peer that reads stop being read from.
private let maxQueuedUploadBytes = 1 << 20

/// Uploading for one session: the choker and its rounds, which peers are served and how much of their
/// data waits in their outboxes, and who may connect (the upload rate is in ``TransferStatistics``).
///
/// A value the session owns. Its decisions change the peers (``PeerTable``) and say which peers need a
/// serving task; the session runs those tasks, which read blocks through the read cache (see
/// `TorrentSession+Peers.swift`).
struct SessionUploads {
    /// Most blocks a serving task reads and sends at once (one pass through the read cache and the
    /// session for all of them).
    static let maxUploadBatch = 16
    var choker: Choker
    var lastRechoke = ContinuousClock.now
    /// How often the choker runs.
    let rechokeInterval: Duration
    /// Most `piece` bytes queued for one peer before its next block waits.
    let maxQueuedBytes: Int
    /// True while incoming peers are welcome: after the data check, until the session ends.
    var acceptingIncoming = false
    /// Peer ids of peers banned for bad data: refused whatever address they come from.
    var bannedPeerIds: Set<[UInt8]> = []

    init(configuration: SessionConfiguration) {
        choker = Choker(regularSlots: configuration.uploadSlots, random: SeededRandom())
        rechokeInterval = configuration.rechokeInterval
        maxQueuedBytes = min(maxQueuedUploadBytes, configuration.memoryBudget.peerQueueLimit / 2)
    }

    /// True when the peer is owed a block now: handshaken, unchoked, asking, and its outbox has room.
    func canServe(_ slot: PeerSlot) -> Bool {
        slot.handshaken && !slot.machine.amChoking && !slot.machine.peerRequests.isEmpty
            && slot.upload.queuedBytes < maxQueuedBytes
    }

    /// Marks the peer at `key` as served and returns true when a serving task must start for it (it
    /// is owed a block and none runs).
    func startServing(_ key: PeerKey, in peers: inout PeerTable) -> Bool {
        peers.withSlot(key) { slot in
            guard canServe(slot), !slot.upload.serving else { return false }
            slot.upload.serving = true
            return true
        } ?? false
    }

    /// The oldest requests to serve, read and sent together: as many as the peer's outbox has room for,
    /// at least one and at most ``maxUploadBatch``; empty when there is none now (then the serving task
    /// ends).
    func nextUploads(_ key: PeerKey, in peers: inout PeerTable, closing: Bool) -> [BlockRequest] {
        peers.withSlot(key) { slot in
            guard !closing, canServe(slot) else {
                slot.upload.serving = false
                return []
            }
            var room = maxQueuedBytes - slot.upload.queuedBytes
            var batch: [BlockRequest] = []
            for request in slot.machine.peerRequests {
                guard batch.isEmpty || (batch.count < Self.maxUploadBatch && Int(request.length) <= room) else {
                    break
                }
                batch.append(request)
                room -= Int(request.length)
            }
            return batch
        } ?? []
    }

    /// A block was read: it is sent, unless the request was cancelled or choked away meanwhile.
    func blockRead(_ request: BlockRequest, _ block: ByteBuffer, for key: PeerKey, in peers: inout PeerTable) {
        guard var slot = peers.take(key) else { return }
        if let message = slot.machine.blockReady(for: request, block: block) {
            slot.send([message])
            slot.upload.queuedBytes += Int(request.length)
        }
        peers.putBack(consume slot)
    }

    /// The writer put `bytes` of `piece` messages on the socket: they count as uploaded (a block still
    /// queued when its connection breaks never reached the peer), and there is room for more.
    func written(_ bytes: Int, to key: PeerKey, in swarm: inout SessionSwarm, now: ContinuousClock.Instant) {
        let length = Int64(bytes)
        swarm.statistics.uploaded(length, at: now)
        guard var slot = swarm.peers.take(key) else { return }
        slot.upload.queuedBytes -= bytes
        slot.upload.uploadedUnsaved += length
        slot.upload.uploadedInRound += length
        slot.rates.upload.add(length, at: now)
        swarm.peers.putBack(consume slot)
    }

    /// True when the peer at `key`, which just became interested, is to be unchoked at once: a slot is
    /// free, so a new leecher need not wait for the next round.
    func unchokesAtOnce(_ key: PeerKey, in peers: PeerTable) -> Bool {
        guard let slot = peers[key], slot.handshaken, slot.machine.peerInterested, slot.machine.amChoking else {
            return false
        }
        return choker.hasFreeSlot(unchoked: peers.unchokedCount)
    }

    /// Runs a choker round when one is due: returns whether each handshaken peer is to be choked, or
    /// `nil` when no round is due.
    mutating func rechokeIfDue(now: ContinuousClock.Instant, swarm: inout SessionSwarm) -> [(PeerKey, choked: Bool)]? {
        let elapsed = now - lastRechoke
        guard elapsed >= rechokeInterval else { return nil }
        lastRechoke = now
        let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        let facts = swarm.chokerRound(seconds: seconds)
        let unchoke = choker.rechoke(facts, mode: swarm.picker.isComplete ? .seeding : .leeching, now: now)
        return facts.map { ($0.key, !unchoke.contains($0.key)) }
    }

    /// Chokes or unchokes the peer at `key`, sending what that takes.
    func setChoked(_ choked: Bool, _ key: PeerKey, in peers: inout PeerTable, now: ContinuousClock.Instant) {
        guard var slot = peers.take(key) else { return }
        if choked {
            slot.send(slot.machine.choke())
        } else if let message = slot.machine.unchoke() {
            slot.upload.unchokedSince = now
            slot.send([message])
        }
        peers.putBack(slot)
    }

    /// A peer left: its optimistic slot is given away.
    mutating func peerLeft(_ key: PeerKey) {
        choker.peerLeft(key)
    }
}
