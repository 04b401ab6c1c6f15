/// Decides which peers we upload to, as a pure state machine (the classic BitTorrent choker).
///
/// Every round (the session runs one every 10 s) ``rechoke(_:mode:now:)`` gets the facts about each
/// connected peer and returns the set to unchoke:
///
/// - **Regular slots** (``regularSlots``, 4 by default) go to interested peers. While downloading
///   (`.leeching`) the best are those that send us the most (tit for tat), then those we sent the
///   most. While seeding, every interested peer gets its turn: the slots go first to choked peers,
///   those waiting longest (never unchoked first), so a fast peer cannot keep a slot for ever.
/// - **One optimistic slot**, rotated every ``optimisticRounds`` rounds (30 s), goes to a random
///   interested peer outside the regular slots, so a newcomer with nothing to offer yet gets a
///   chance to show its rate.
///
/// Randomness comes from a ``SeededRandom``, so tests replay it exactly.
public struct Choker: Sendable {
    /// Whether the torrent is still downloading or only uploads.
    public enum Mode: Sendable, Hashable {
        /// Some wanted pieces are missing: reward the peers that send us the most.
        case leeching
        /// Everything wanted is here: rotate the slots fairly.
        case seeding
    }

    /// What the choker needs to know about one connected peer.
    public struct Peer: Hashable, Sendable {
        /// The session's key for it.
        public var key: PeerKey
        /// Whether it wants pieces we have.
        public var isInterested: Bool
        /// Payload bytes per second it sent us over the last round.
        public var downloadRate: Double
        /// Payload bytes per second we sent it over the last round.
        public var uploadRate: Double
        /// Whether it is unchoked now.
        public var isUnchoked: Bool
        /// When its current (or last) unchoke began; `nil` if never unchoked.
        public var unchokedSince: ContinuousClock.Instant?

        /// Facts about one peer.
        public init(
            key: PeerKey, isInterested: Bool, downloadRate: Double = 0, uploadRate: Double = 0,
            isUnchoked: Bool = false, unchokedSince: ContinuousClock.Instant? = nil
        ) {
            self.key = key
            self.isInterested = isInterested
            self.downloadRate = downloadRate
            self.uploadRate = uploadRate
            self.isUnchoked = isUnchoked
            self.unchokedSince = unchokedSince
        }
    }

    /// Peers unchoked for their rates (or, seeding, in turn).
    public var regularSlots: Int
    /// Rounds between two changes of the optimistic unchoke.
    public var optimisticRounds: Int
    /// The peer holding the optimistic slot, if any.
    public private(set) var optimistic: PeerKey?
    private var roundsSinceOptimistic = 0
    private var random: SeededRandom

    /// A choker with `regularSlots` regular slots and one optimistic slot rotated every
    /// `optimisticRounds` rounds.
    public init(regularSlots: Int = 4, optimisticRounds: Int = 3, random: SeededRandom = SeededRandom()) {
        precondition(regularSlots >= 0 && optimisticRounds >= 1, "need regularSlots >= 0 and optimisticRounds >= 1")
        self.regularSlots = regularSlots
        self.optimisticRounds = optimisticRounds
        self.random = random
    }

    /// The most peers unchoked at once: the regular slots and the optimistic one.
    public var totalSlots: Int { regularSlots + 1 }

    /// One round: the peers to unchoke (every other peer is to be choked).
    public mutating func rechoke(
        _ peers: [Peer], mode: Mode, now: ContinuousClock.Instant
    ) -> Set<PeerKey> {
        let interested = peers.filter(\.isInterested)
        let ranked: [Peer]
        switch mode {
        case .leeching:
            ranked = interested.sorted { a, b in
                if a.downloadRate != b.downloadRate { return a.downloadRate > b.downloadRate }
                if a.uploadRate != b.uploadRate { return a.uploadRate > b.uploadRate }
                return a.key < b.key
            }
        case .seeding:
            // Waiting peers first, longest waiting (or never unchoked) first; then the unchoked ones,
            // those whose turn began last first, so the longest-served give their slots away.
            ranked = interested.sorted { a, b in
                if a.isUnchoked != b.isUnchoked { return !a.isUnchoked }
                switch (a.unchokedSince, b.unchokedSince) {
                case (nil, nil): break
                case (nil, _): return true
                case (_, nil): return false
                case (let x?, let y?): if x != y { return a.isUnchoked ? x > y : x < y }
                }
                if a.uploadRate != b.uploadRate { return a.uploadRate > b.uploadRate }
                return a.key < b.key
            }
        }
        // The optimistic peer keeps its slot between rotations (if still interested), outside the ranking.
        roundsSinceOptimistic += 1
        var keep = optimistic.flatMap { key in interested.first { $0.key == key } }
        if roundsSinceOptimistic >= optimisticRounds { keep = nil }
        var unchoked = Set<PeerKey>()
        for peer in ranked where unchoked.count < regularSlots && peer.key != keep?.key {
            unchoked.insert(peer.key)
        }
        if let keep {
            unchoked.insert(keep.key)
        } else {
            let others = interested.filter { !unchoked.contains($0.key) }.sorted { $0.key < $1.key }
            if others.isEmpty {
                optimistic = nil
            } else {
                let chosen = others[Int(random.next() % UInt64(others.count))]
                optimistic = chosen.key
                unchoked.insert(chosen.key)
            }
            roundsSinceOptimistic = 0
        }
        return unchoked
    }

    /// Whether a peer that just became interested may be unchoked at once, between rounds, when
    /// `unchoked` peers are unchoked now.
    public func hasFreeSlot(unchoked: Int) -> Bool { unchoked < totalSlots }

    /// Forgets a peer that left (its optimistic slot is given away next round).
    public mutating func peerLeft(_ key: PeerKey) {
        if optimistic == key {
            optimistic = nil
            roundsSinceOptimistic = optimisticRounds
        }
    }
}
