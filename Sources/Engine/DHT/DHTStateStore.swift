/// The address family a DHT node works in: BEP 5 over IPv4, BEP 32 over IPv6, each with a table of its own.
public enum DHTFamily: String, Sendable, Codable, CaseIterable {
    case ipv4
    case ipv6
}

/// A node as the table saves it: its id, where it was reached, and when it last answered or queried us.
public struct DHTSavedNode: Sendable, Equatable {
    public var id: NodeID
    public var address: PeerAddress
    public var lastSeen: Timestamp

    public init(id: NodeID, address: PeerAddress, lastSeen: Timestamp) {
        self.id = id
        self.address = address
        self.lastSeen = lastSeen
    }
}

/// What a DHT node saved: its id and the good nodes of its table, restored at the next start so that
/// the id does not change and peers are found without any bootstrap node.
public struct DHTSavedState: Sendable, Equatable {
    public var family: DHTFamily
    public var id: NodeID
    public var nodes: [DHTSavedNode]
    /// What the node was doing when it saved (what `btq dht` shows).
    public var status: DHTStatus

    public init(family: DHTFamily, id: NodeID, nodes: [DHTSavedNode], status: DHTStatus) {
        self.family = family
        self.id = id
        self.nodes = nodes
        self.status = status
    }
}

/// A node's state as `btq dht` shows it: saved with the table, in the same rhythm.
public struct DHTStatus: Sendable, Equatable, Codable {
    /// One bucket of the routing table.
    public struct Bucket: Sendable, Equatable, Codable {
        /// Leading bits its ids share with ours.
        public var depth: Int
        /// Nodes that answered or queried us within the last 15 minutes and have not failed since.
        public var good: Int
        /// The other nodes (not heard from lately, or failed once).
        public var questionable: Int
        /// Candidates waiting to replace a bad node.
        public var replacements: Int

        public init(depth: Int, good: Int, questionable: Int, replacements: Int) {
            self.depth = depth
            self.good = good
            self.questionable = questionable
            self.replacements = replacements
        }
    }

    /// One lookup in progress.
    public struct Lookup: Sendable, Equatable, Codable {
        /// `get_peers` (a torrent's peers, then an announce) or `find_node` (bootstrap, refresh).
        public var kind: String
        /// The id or info-hash looked up, in hex.
        public var target: String
        /// Nodes queried so far, and queries waiting for an answer.
        public var queried: Int
        public var inFlight: Int

        public init(kind: String, target: String, queried: Int, inFlight: Int) {
            self.kind = kind
            self.target = target
            self.queried = queried
            self.inFlight = inFlight
        }
    }

    /// Our node id, in hex.
    public var nodeID: String
    /// The UDP address the node is bound to (`host:port`).
    public var address: String
    /// BEP 43: the node asks but does not answer, and other nodes keep it out of their tables.
    public var readOnly: Bool
    public var buckets: [Bucket]
    public var lookups: [Lookup]
    /// Info-hashes other nodes announced to us, and the peers kept for them.
    public var torrents: Int
    public var peers: Int
    /// Packets and bytes each way since the node started.
    public var packetsIn: Int64
    public var packetsOut: Int64
    public var bytesIn: Int64
    public var bytesOut: Int64
    /// Queries of other nodes answered, and those dropped (over the rate limit of their address, or
    /// malformed).
    public var queriesAnswered: Int64
    public var queriesDropped: Int64
    /// When the node started, and when this was saved.
    public var startedAt: Timestamp
    public var savedAt: Timestamp

    public init(
        nodeID: String, address: String, readOnly: Bool, buckets: [Bucket] = [], lookups: [Lookup] = [],
        torrents: Int = 0, peers: Int = 0, packetsIn: Int64 = 0, packetsOut: Int64 = 0, bytesIn: Int64 = 0,
        bytesOut: Int64 = 0, queriesAnswered: Int64 = 0, queriesDropped: Int64 = 0, startedAt: Timestamp,
        savedAt: Timestamp
    ) {
        self.nodeID = nodeID
        self.address = address
        self.readOnly = readOnly
        self.buckets = buckets
        self.lookups = lookups
        self.torrents = torrents
        self.peers = peers
        self.packetsIn = packetsIn
        self.packetsOut = packetsOut
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.queriesAnswered = queriesAnswered
        self.queriesDropped = queriesDropped
        self.startedAt = startedAt
        self.savedAt = savedAt
    }
}

/// Where a DHT node saves its id and table (Store implements it over SQLite; the node's tests use a
/// value in memory). Called in the journal's rhythm (every few seconds at most, and at a stop), never
/// once per packet.
package protocol DHTStateStore: Sendable {
    /// What the node of `family` saved last; `nil` when it never did.
    func loadDHTState(family: DHTFamily) throws -> DHTSavedState?
    /// Replaces what the node of `state.family` saved.
    func saveDHTState(_ state: DHTSavedState) throws
}
