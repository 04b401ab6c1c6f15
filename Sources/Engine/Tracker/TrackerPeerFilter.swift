/// Cleans a tracker's peer list before it reaches the swarm: drops our own listen addresses and our own
/// peer id, and duplicates.
///
/// opentracker (and others) hand the announcing client back to itself. When btq listens on a specific
/// address, pass it in ``ownAddresses`` (for example `127.0.0.1:6881`). When it listens on all
/// addresses, the tracker may report any of them, or a public address btq does not know, so the
/// swarm must still detect self-connections by peer id in the handshake; this filter only saves the
/// obvious dials.
public struct TrackerPeerFilter: Sendable, Hashable {
    /// Addresses that are us.
    public var ownAddresses: Set<PeerAddress>
    /// Our peer id, matched against the ids of dictionary-form peer lists.
    public var ownPeerId: [UInt8]?
    /// Most peers passed on from one answer (a hostile tracker cannot flood the swarm).
    public var limit: Int

    /// Creates a filter.
    public init(ownAddresses: Set<PeerAddress> = [], ownPeerId: [UInt8]? = nil, limit: Int = 1000) {
        self.ownAddresses = ownAddresses
        self.ownPeerId = ownPeerId
        self.limit = limit
    }

    /// The loopback addresses of a client listening on `port` on every address (`127.0.0.1` and `::1`),
    /// what a tracker on the same machine reports back.
    public static func loopbackAddresses(port: UInt16) -> Set<PeerAddress> {
        [
            PeerAddress(host: .ipv4(127, 0, 0, 1), port: port),
            PeerAddress(host: .ipv6([UInt8](repeating: 0, count: 15) + [1]), port: port),
        ]
    }

    /// The usable peers of `response`, in the tracker's order, each once.
    public func peers(of response: AnnounceResponse) -> [PeerAddress] {
        var seen = Set<PeerAddress>()
        var out: [PeerAddress] = []
        for peer in response.peers where out.count < limit {
            guard !ownAddresses.contains(peer) else { continue }
            if let ownPeerId, response.peerIds[peer] == ownPeerId { continue }
            if seen.insert(peer).inserted { out.append(peer) }
        }
        return out
    }

    /// `peers` without our own addresses and duplicates, in their order.
    public func filter(_ peers: [PeerAddress]) -> [PeerAddress] {
        self.peers(of: AnnounceResponse(interval: 0, peers: peers))
    }
}
