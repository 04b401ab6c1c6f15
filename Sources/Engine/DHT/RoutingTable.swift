/// The DHT routing table (BEP 5): nodes in buckets of at most ``bucketSize``, each covering the ids
/// that share a number of leading bits with ours. Only the bucket that holds our own id splits, so the
/// table knows many nodes near us and a few far away: at most 160 buckets of ``bucketSize`` nodes,
/// each with a replacement list of the same size.
///
/// A node vouches for itself only by answering one of our queries. One heard only through the queries
/// it sends (anybody can send a query from any address with any id) is *unconfirmed*: it takes an
/// empty place, never splits a bucket nor displaces a node, is neither handed out nor asked in
/// lookups, and gives way to any node that answered; it is confirmed when it answers a query of ours
/// (the node pings it once on adding it). A flood of queries with made-up ids therefore cannot fill
/// the table that lookups start from. The table holds one node per address.
///
/// A value: the node (an actor) owns it, tells it what it heard and which queries failed, and asks
/// it for the closest nodes and for the buckets to refresh.
public struct RoutingTable: Sendable {
    /// Nodes per bucket (BEP 5's K).
    public static let bucketSize = 8
    /// A node that neither answered nor queried us for this long is questionable.
    public static let goodFor: Duration = .seconds(15 * 60)
    /// Failed queries in a row after which a node is bad, and replaced by the next candidate.
    public static let failuresToBeBad = 2

    /// What the table knows of one node.
    public struct Entry: Sendable, Equatable {
        public var node: DHTNode
        /// When it last answered one of our queries, or sent us one.
        public var lastSeen: ContinuousClock.Instant
        /// Queries to it that failed in a row since.
        public var failures = 0
        /// It has answered a query of ours (confirmed); until then it was only heard through its
        /// own queries.
        public var answered: Bool

        public init(node: DHTNode, lastSeen: ContinuousClock.Instant, answered: Bool) {
            self.node = node
            self.lastSeen = lastSeen
            self.answered = answered
        }

        /// It answered us, and answered or queried us within ``RoutingTable/goodFor``, and has not
        /// failed since (BEP 5).
        public func isGood(at now: ContinuousClock.Instant) -> Bool {
            answered && failures == 0 && now - lastSeen < RoutingTable.goodFor
        }

        /// Failed ``RoutingTable/failuresToBeBad`` times in a row; an unconfirmed node, once.
        public var isBad: Bool { failures >= (answered ? RoutingTable.failuresToBeBad : 1) }

        /// It may be handed out and asked: confirmed and not bad.
        public var isUsable: Bool { answered && !isBad }
    }

    /// One bucket: the nodes whose ids share `depth` leading bits with ours (the last bucket: at least
    /// that many), and candidates waiting to replace bad ones.
    struct Bucket: Sendable {
        var entries: [Entry] = []
        var replacements: [Entry] = []
        /// When a node in it last answered, or it was last refreshed.
        var lastChanged: ContinuousClock.Instant
    }

    /// Our own id.
    public let ownID: NodeID
    private(set) var buckets: [Bucket]

    public init(ownID: NodeID, now: ContinuousClock.Instant = .now) {
        self.ownID = ownID
        buckets = [Bucket(lastChanged: now)]
    }

    /// What ``heard(from:at:)`` did with a node.
    public enum Outcome: Equatable, Sendable {
        /// Added to its bucket, or already there (its time is updated).
        case added
        /// Added to an empty place, unconfirmed: ping it, and it is confirmed if it answers.
        case addedUnconfirmed
        /// Its bucket is full of good nodes: kept as a replacement candidate.
        case waiting
        /// Its bucket is full and holds questionable nodes: ping `questionable`, which is replaced by a
        /// candidate if it fails.
        case pingFirst(questionable: DHTNode)
        /// Not taken: it claims our own id.
        case refused
    }

    /// How many nodes the table holds (replacements not counted).
    public var count: Int { buckets.reduce(0) { $0 + $1.entries.count } }

    /// How many of them are usable (confirmed, not bad): what lookups can start from.
    public var usableCount: Int { buckets.reduce(0) { $0 + $1.entries.count(where: \.isUsable) } }

    /// Every node of the table, bucket by bucket.
    public var entries: [Entry] { buckets.flatMap(\.entries) }

    /// The index of the bucket that covers `id`.
    func bucketIndex(of id: NodeID) -> Int {
        min(ownID.commonPrefixLength(with: id), buckets.count - 1)
    }

    /// `node` answered a query of ours (`answered`) or sent us one at `now`: it is added (the bucket
    /// holding our id splits when full), refreshed, or waits as a replacement.
    ///
    /// A node already known under its id at another address stays there unless it is unconfirmed and
    /// this one answered: nobody moves a node that answered us by claiming its id.
    @discardableResult
    public mutating func heard(from node: DHTNode, at now: ContinuousClock.Instant, answered: Bool) -> Outcome {
        guard node.id != ownID else { return .refused }
        while true {
            let index = bucketIndex(of: node.id)
            if let position = buckets[index].entries.firstIndex(where: { $0.node.id == node.id }) {
                var entry = buckets[index].entries[position]
                if entry.node.address != node.address {
                    guard answered, !entry.answered else { return .refused }
                    entry.node.address = node.address
                }
                if answered {
                    entry.answered = true
                    entry.failures = 0
                    entry.lastSeen = now
                    buckets[index].lastChanged = now
                } else if entry.answered {
                    // BEP 5: a node that answered once and queries us now is good.
                    entry.lastSeen = now
                }
                buckets[index].entries[position] = entry
                return .added
            }
            if let (bucket, position) = place(of: node.address) {
                // One node per address: another id there is refused, unless this one answered us
                // from it (the node there has a new id; the old one is gone).
                guard answered else { return .refused }
                buckets[bucket].entries.remove(at: position)
                continue
            }
            let entry = Entry(node: node, lastSeen: now, answered: answered)
            if buckets[index].entries.count < Self.bucketSize {
                buckets[index].entries.append(entry)
                buckets[index].replacements.removeAll { $0.node.id == node.id }
                guard answered else { return .addedUnconfirmed }
                buckets[index].lastChanged = now
                return .added
            }
            guard answered else {
                // It waits for a place; it displaces nobody and splits nothing.
                remember(entry, in: index)
                return .waiting
            }
            if let giving = buckets[index].entries.firstIndex(where: { $0.isBad || !$0.answered }) {
                buckets[index].entries[giving] = entry
                buckets[index].replacements.removeAll { $0.node.id == node.id }
                buckets[index].lastChanged = now
                return .added
            }
            // Only the last bucket, which holds our own id, splits; at most 160 buckets.
            if index == buckets.count - 1, buckets.count < 160 {
                split()
                continue
            }
            remember(entry, in: index)
            if let questionable = buckets[index].entries.first(where: { !$0.isGood(at: now) }) {
                return .pingFirst(questionable: questionable.node)
            }
            return .waiting
        }
    }

    /// The bucket and position of the node at `address`.
    private func place(of address: PeerAddress) -> (bucket: Int, position: Int)? {
        for (bucket, contents) in buckets.enumerated() {
            if let position = contents.entries.firstIndex(where: { $0.node.address == address }) {
                return (bucket, position)
            }
        }
        return nil
    }

    /// A query to the node with `id` failed (timed out): after ``failuresToBeBad`` in a row it is bad
    /// (an unconfirmed node at once), and the freshest replacement that answered us takes its place.
    public mutating func failed(_ id: NodeID) {
        let index = bucketIndex(of: id)
        guard let position = buckets[index].entries.firstIndex(where: { $0.node.id == id }) else {
            buckets[index].replacements.removeAll { $0.node.id == id }
            return
        }
        buckets[index].entries[position].failures += 1
        guard buckets[index].entries[position].isBad,
            let candidate = buckets[index].replacements.lastIndex(where: \.answered)
        else { return }
        buckets[index].entries[position] = buckets[index].replacements.remove(at: candidate)
    }

    /// The `count` usable nodes closest to `target` (XOR distance), closest first: bad and unconfirmed
    /// ones left out.
    ///
    /// One pass over the table keeping the best `count` in order (each node's distance computed once):
    /// it answers every `find_node` and `get_peers`, so it copies and sorts nothing the size of the table.
    public func closest(to target: NodeID, count: Int = RoutingTable.bucketSize) -> [DHTNode] {
        guard count > 0 else { return [] }
        var best: [(distance: NodeID, node: DHTNode)] = []
        best.reserveCapacity(count + 1)
        for bucket in buckets {
            for entry in bucket.entries where entry.isUsable {
                let distance = entry.node.id.distance(to: target)
                if best.count == count, let last = best.last, !(distance < last.distance) { continue }
                var position = best.count
                while position > 0, distance < best[position - 1].distance { position -= 1 }
                best.insert((distance, entry.node), at: position)
                if best.count > count { best.removeLast() }
            }
        }
        return best.map(\.node)
    }

    /// Ids to look up to refresh buckets nothing changed in for `age`: a random id in each such
    /// bucket's range. The buckets count as refreshed from `now`.
    public mutating func idsToRefresh(olderThan age: Duration, at now: ContinuousClock.Instant) -> [NodeID] {
        var ids: [NodeID] = []
        for index in buckets.indices where now - buckets[index].lastChanged >= age {
            ids.append(randomID(inBucket: index))
            buckets[index].lastChanged = now
        }
        return ids
    }

    /// A random id that bucket `index` covers: our first `index` bits, then the other value of the
    /// next bit (any bits for the last bucket, which holds ours).
    func randomID(inBucket index: Int) -> NodeID {
        var bytes = NodeID.random().bytes
        let own = ownID.bytes
        let keep = index == buckets.count - 1 ? index : index + 1
        for bit in 0..<keep {
            let byte = bit / 8
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            let value = bit < index ? own[byte] & mask : ~own[byte] & mask
            bytes[byte] = bytes[byte] & ~mask | value
        }
        return NodeID(bytes)!
    }

    /// Splits the last bucket: the nodes (and candidates) that share one more bit with our id move to
    /// a new last bucket.
    private mutating func split() {
        let depth = buckets.count - 1
        let old = buckets[depth]
        var near = Bucket(lastChanged: old.lastChanged)
        var far = Bucket(lastChanged: old.lastChanged)
        for entry in old.entries {
            if ownID.commonPrefixLength(with: entry.node.id) > depth {
                near.entries.append(entry)
            } else {
                far.entries.append(entry)
            }
        }
        for entry in old.replacements {
            if ownID.commonPrefixLength(with: entry.node.id) > depth {
                near.replacements.append(entry)
            } else {
                far.replacements.append(entry)
            }
        }
        buckets[depth] = far
        buckets.append(near)
    }

    /// Keeps `entry` as a candidate of bucket `index`: the newest replace the oldest beyond the cap.
    private mutating func remember(_ entry: Entry, in index: Int) {
        buckets[index].replacements.removeAll { $0.node.id == entry.node.id }
        buckets[index].replacements.append(entry)
        if buckets[index].replacements.count > Self.bucketSize { buckets[index].replacements.removeFirst() }
    }
}
