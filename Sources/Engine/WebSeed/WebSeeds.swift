/// A torrent's web seeds and what is known of each: its connections' keys in the picker, its phase
/// (working, resting after failures, dropped), its counters, and the blame of pieces that failed.
///
/// A plain value owned by the session's core. Web seed connections get picker keys of their own,
/// negative ones (the peer table's are not), so a block's sender tells a web seed from a peer.
struct WebSeeds {
    /// One web seed.
    struct Seed {
        enum Phase: Hashable {
            /// Fetching (or waiting for blocks to fetch).
            case active
            /// Resting after failures in a row, until then.
            case resting(until: ContinuousClock.Instant)
            /// Not used again in this run, and why.
            case dropped(String)
        }

        /// The URL from the torrent.
        let url: String
        /// Its connections' keys.
        var keys: [PeerKey]
        var phase = Phase.active
        /// Payload bytes it sent (this run) and those not journaled yet.
        var downloaded: Int64 = 0
        var downloadedUnsaved: Int64 = 0
        /// Pieces it sent blocks of that failed their hash check (this run), and those not journaled yet.
        var hashFailures = 0
        var hashFailuresUnsaved = 0
        /// Its share of the failed pieces' blame (1/k of a piece k sources sent).
        var blame = 0.0
        /// Pieces it sent blocks of that passed.
        var piecesPassed = 0
        /// Requests that failed since the last one that did not.
        var failuresInARow = 0
        /// The phase changed since the last journal record.
        var phaseUnsaved = true
        /// Counted in the picker's availability as a peer that has every piece (until dropped).
        var countedAsSeed = false

        var isDropped: Bool {
            if case .dropped = phase { return true }
            return false
        }

        /// What `btq peers` shows of it: the state, with the reason it was dropped.
        var stateText: String {
            switch phase {
            case .active: "web seed"
            case .resting: "web seed (resting after failures)"
            case .dropped(let reason): "web seed (dropped: \(reason))"
            }
        }
    }

    private(set) var seeds: [Seed] = []
    private var seedOfKey: [PeerKey: Int] = [:]
    private var nextKey = -1

    /// Adds the web seed at `url` with `connections` keys; returns its index.
    mutating func add(url: String, connections: Int) -> Int {
        let index = seeds.count
        var keys: [PeerKey] = []
        for _ in 0..<connections {
            keys.append(PeerKey(nextKey))
            seedOfKey[PeerKey(nextKey)] = index
            nextKey -= 1
        }
        seeds.append(Seed(url: url, keys: keys))
        return index
    }

    /// The web seed a picker key belongs to, if any.
    func seed(of key: PeerKey) -> Int? { seedOfKey[key] }

    subscript(index: Int) -> Seed {
        get { seeds[index] }
        _modify { yield &seeds[index] }
    }

    var count: Int { seeds.count }

    /// Drops web seed `index` for the run, for `reason`; false when it was dropped already.
    mutating func drop(_ index: Int, because reason: String) -> Bool {
        guard !seeds[index].isDropped else { return false }
        seeds[index].phase = .dropped(reason)
        seeds[index].phaseUnsaved = true
        return true
    }

    /// Indexes of web seeds whose record changed since the last journal batch.
    var unsaved: [Int] {
        seeds.indices.filter {
            seeds[$0].phaseUnsaved || seeds[$0].downloadedUnsaved > 0 || seeds[$0].hashFailuresUnsaved > 0
        }
    }

    /// Web seed `index`'s record went to the journal.
    mutating func recorded(_ index: Int) {
        seeds[index].phaseUnsaved = false
        seeds[index].downloadedUnsaved = 0
        seeds[index].hashFailuresUnsaved = 0
    }
}
