/// A DHT node as KRPC names it: its id and its address (BEP 5 "compact node info").
public struct DHTNode: Hashable, Sendable {
    public var id: NodeID
    public var address: PeerAddress

    public init(id: NodeID, address: PeerAddress) {
        self.id = id
        self.address = address
    }
}

/// One KRPC message (BEP 5): a query, its response, or an error, under the transaction id the querier
/// chose. Decoded within ``KRPCMessage/Limits``: a packet of the network never costs more than its
/// size in work and memory.
public struct KRPCMessage: Sendable, Equatable {
    /// The transaction id (`t`), echoed by the answer.
    public var transaction: [UInt8]
    public var body: Body
    /// The sender's client and version (`v`), when it says.
    public var version: [UInt8]?
    /// The sender does not answer queries and is not to be added to routing tables (BEP 43 `ro`).
    public var readOnly = false
    /// Our address as the answering node saw it (BEP 42 `ip`, in responses and errors).
    public var requester: PeerAddress?

    public enum Body: Sendable, Equatable {
        case query(KRPCQuery)
        case response(KRPCResponse)
        /// An error (`e`): a code (201 generic, 202 server, 203 protocol, 204 method unknown) and text.
        case error(code: Int64, message: String)
    }

    public init(
        transaction: [UInt8], body: Body, version: [UInt8]? = nil, readOnly: Bool = false,
        requester: PeerAddress? = nil
    ) {
        self.transaction = transaction
        self.body = body
        self.version = version
        self.readOnly = readOnly
        self.requester = requester
    }
}

/// A query (`y` = `q`): the querying node's id and what it asks.
public struct KRPCQuery: Sendable, Equatable {
    public var sender: NodeID
    public var method: Method

    public enum Method: Sendable, Equatable {
        case ping
        /// The nodes closest to `target` that the answering node knows.
        case findNode(target: NodeID)
        /// Peers of a torrent, or else the closest nodes, and a token to announce with.
        case getPeers(infoHash: NodeID)
        /// The sender downloads `infoHash` and accepts peers on `port` (or on the port it sent from, when
        /// `impliedPort`), with the token a `get_peers` gave it.
        case announcePeer(infoHash: NodeID, port: UInt16, token: [UInt8], impliedPort: Bool)
        /// A method this node does not know (answered with error 204).
        case unknown(String)
    }

    public init(sender: NodeID, method: Method) {
        self.sender = sender
        self.method = method
    }
}

/// A response (`y` = `r`): the answering node's id and whichever of nodes, peers and token it sent.
public struct KRPCResponse: Sendable, Equatable {
    public var sender: NodeID
    /// Closest nodes, IPv4 (`nodes`) and IPv6 (`nodes6`, BEP 32).
    public var nodes: [DHTNode] = []
    public var nodes6: [DHTNode] = []
    /// Peers of the torrent asked for (`values`).
    public var values: [PeerAddress] = []
    /// The token to announce with (`token`).
    public var token: [UInt8]?

    public init(
        sender: NodeID, nodes: [DHTNode] = [], nodes6: [DHTNode] = [], values: [PeerAddress] = [],
        token: [UInt8]? = nil
    ) {
        self.sender = sender
        self.nodes = nodes
        self.nodes6 = nodes6
        self.values = values
        self.token = token
    }
}

/// Why a packet is not a KRPC message btq takes.
public enum KRPCError: Error, Equatable, CustomStringConvertible {
    /// Longer than ``KRPCMessage/Limits/maxPacket``.
    case tooLarge(Int)
    /// Not bencode within the limits, or not a dictionary.
    case malformed(String)
    /// A field is missing or of the wrong kind or size.
    case invalidField(String)

    public var description: String {
        switch self {
        case .tooLarge(let size): return "KRPC packet of \(size) bytes is too large"
        case .malformed(let why): return "malformed KRPC packet: \(why)"
        case .invalidField(let field): return "KRPC field \(field) missing or invalid"
        }
    }
}
