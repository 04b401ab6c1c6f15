/// One iterative lookup (BEP 5): the nodes closest to a target found by asking the closest known nodes
/// for closer ones, ``parallelism`` queries at a time, until the ``resultSize`` closest that answer have
/// all been asked. A `get_peers` lookup also gathers the peers nodes return and the tokens to announce
/// with.
///
/// A query that has waited ``DHTNodeCore/slowAfter`` is *slow*: it no longer holds one of the
/// ``parallelism`` places (the next candidate is asked beside it), but its answer is still taken
/// until it times out. Nodes that never answer (made up by a liar, or gone) cost the lookup a second
/// each, not a query timeout.
///
/// A value: the node sends the queries it hands out and tells it each answer and failure. Bounded: at
/// most ``maxCandidates`` candidates (the farthest are dropped), ``maxQueries`` queries and
/// ``maxPeers`` peers per lookup.
public struct DHTLookup: Sendable {
    public enum Kind: String, Sendable {
        case findNode = "find_node"
        case getPeers = "get_peers"
    }

    /// Queries in flight at once.
    public static let parallelism = 4
    /// The closest nodes that must have answered for the lookup to end (BEP 5's K).
    static let resultSize = RoutingTable.bucketSize
    public static let maxCandidates = 64
    public static let maxQueries = 96
    public static let maxPeers = 1_000
    /// Nodes taken from one answer: BEP 5 answers carry the K closest; a node that sends more gets no
    /// more room among the candidates than an honest one.
    static let nodesPerAnswer = 2 * resultSize

    /// A node met on the way, by its address (a bootstrap node's id is not known before it answers).
    struct Candidate: Sendable {
        var address: PeerAddress
        /// Its id once known; until then it sorts after every node of known id.
        var id: NodeID?
        var state: State = .fresh
        /// The token its `get_peers` answer carried.
        var token: [UInt8]?

        enum State: Sendable, Equatable {
            /// `slow`: asked, not answered within ``DHTNodeCore/slowAfter``; still awaited.
            case fresh, inFlight, slow, answered, failed
        }
    }

    let kind: Kind
    let target: NodeID
    /// Candidates, closest first (known ids by XOR distance, then the unknown ones).
    private(set) var candidates: [Candidate] = []
    /// Peers of the target found so far.
    private(set) var peers: Set<PeerAddress> = []
    private(set) var queriesSent = 0
    private let ownID: NodeID

    init(kind: Kind, target: NodeID, ownID: NodeID) {
        self.kind = kind
        self.target = target
        self.ownID = ownID
    }

    /// Queries waiting for an answer that hold a place of the ``parallelism``.
    var inFlight: Int { candidates.reduce(0) { $0 + ($1.state == .inFlight ? 1 : 0) } }

    /// Queries waiting for an answer, slow ones included.
    var awaiting: Int { candidates.reduce(0) { $0 + ($1.state == .inFlight || $1.state == .slow ? 1 : 0) } }

    /// Adds nodes to ask (our own id and addresses already known are skipped).
    mutating func add(_ nodes: [DHTNode]) {
        for node in nodes where node.id != ownID {
            if let index = candidates.firstIndex(where: { $0.address == node.address }) {
                if candidates[index].id == nil { candidates[index].id = node.id }
                continue
            }
            guard !candidates.contains(where: { $0.id == node.id }) else { continue }
            candidates.append(Candidate(address: node.address, id: node.id))
        }
        sortAndTrim()
    }

    /// Adds addresses of nodes whose ids are unknown (bootstrap nodes).
    mutating func add(addresses: [PeerAddress]) {
        for address in addresses where !candidates.contains(where: { $0.address == address }) {
            candidates.append(Candidate(address: address))
        }
        sortAndTrim()
    }

    /// The next nodes to query: the closest fresh candidates, so that at most ``parallelism`` are in
    /// flight. They count as queried from now.
    mutating func nextQueries() -> [PeerAddress] {
        var out: [PeerAddress] = []
        var flying = inFlight
        var answered = 0
        for index in candidates.indices {
            guard flying < Self.parallelism, queriesSent < Self.maxQueries, answered < Self.resultSize else { break }
            switch candidates[index].state {
            case .fresh:
                candidates[index].state = .inFlight
                out.append(candidates[index].address)
                flying += 1
                queriesSent += 1
            case .answered:
                answered += 1
            case .inFlight, .slow, .failed:
                break
            }
        }
        return out
    }

    /// The query to `address` has waited long: the next candidate may be asked beside it.
    mutating func slow(_ address: PeerAddress) {
        guard let index = candidates.firstIndex(where: { $0.address == address }),
            candidates[index].state == .inFlight
        else { return }
        candidates[index].state = .slow
    }

    /// `address` answered as `id` with `nodes` (its family's), and for `get_peers` `values` and `token`.
    /// Returns the peers not found before.
    mutating func answered(
        from address: PeerAddress, id: NodeID, nodes: [DHTNode], values: [PeerAddress], token: [UInt8]?
    ) -> [PeerAddress] {
        if let index = candidates.firstIndex(where: { $0.address == address }) {
            candidates[index].state = .answered
            candidates[index].id = id
            candidates[index].token = token
        }
        add(Array(nodes.prefix(Self.nodesPerAnswer)))
        var fresh: [PeerAddress] = []
        for peer in values where peers.count < Self.maxPeers && peer.port != 0 {
            if peers.insert(peer).inserted { fresh.append(peer) }
        }
        return fresh
    }

    /// A query to `address` timed out or was answered with an error.
    mutating func failed(_ address: PeerAddress) {
        guard let index = candidates.firstIndex(where: { $0.address == address }) else { return }
        candidates[index].state = .failed
    }

    /// Nothing in flight, and nothing more worth asking: the ``resultSize`` closest that did not fail
    /// have answered (or no query is left in the budget).
    var isDone: Bool {
        guard awaiting == 0 else { return false }
        if queriesSent >= Self.maxQueries { return true }
        var answered = 0
        for candidate in candidates {
            switch candidate.state {
            case .fresh: return false
            case .answered:
                answered += 1
                if answered >= Self.resultSize { return true }
            case .inFlight, .slow, .failed: continue
            }
        }
        return true
    }

    /// The closest nodes that answered with a token: where to announce (`get_peers`).
    var announceTargets: [(address: PeerAddress, token: [UInt8])] {
        Array(
            candidates.lazy.filter { $0.state == .answered }.compactMap { candidate in
                candidate.token.map { (candidate.address, $0) }
            }.prefix(Self.resultSize))
    }

    private mutating func sortAndTrim() {
        let target = self.target
        candidates.sort { left, right in
            switch (left.id, right.id) {
            case (let l?, let r?): return l.distance(to: target) < r.distance(to: target)
            case (.some, nil): return true
            case (nil, _): return false
            }
        }
        guard candidates.count > Self.maxCandidates else { return }
        // The farthest go first, but never one waiting for an answer.
        var index = candidates.count - 1
        while candidates.count > Self.maxCandidates, index >= 0 {
            let state = candidates[index].state
            if state != .inFlight && state != .slow { candidates.remove(at: index) }
            index -= 1
        }
    }
}
