/// The peers other nodes announced to us (`announce_peer`), by info-hash, to hand out in `get_peers`
/// answers. Bounded: at most ``maxTorrents`` info-hashes and ``maxPeersPerTorrent`` peers each (a new
/// peer replaces the one announced longest ago), each kept for ``lifetime`` after its last announce.
struct DHTPeerStore: Sendable {
    static let maxTorrents = 2_000
    static let maxPeersPerTorrent = 200
    /// Peers returned in one answer (100 IPv6 peers still fit a packet well under 4 KiB).
    static let maxPerAnswer = 100
    static let lifetime: Duration = .seconds(30 * 60)

    private var torrents: [NodeID: [PeerAddress: ContinuousClock.Instant]] = [:]

    /// Info-hashes with peers, and peers over all of them.
    var torrentCount: Int { torrents.count }
    var peerCount: Int { torrents.values.reduce(0) { $0 + $1.count } }

    /// `peer` announced `infoHash` at `now`. Returns false when the store is full of other torrents.
    @discardableResult
    mutating func add(_ peer: PeerAddress, for infoHash: NodeID, at now: ContinuousClock.Instant) -> Bool {
        if torrents[infoHash] == nil, torrents.count >= Self.maxTorrents {
            expire(at: now)
            guard torrents.count < Self.maxTorrents else { return false }
        }
        var peers = torrents[infoHash, default: [:]]
        if peers[peer] == nil, peers.count >= Self.maxPeersPerTorrent,
            let oldest = peers.min(by: { $0.value < $1.value })?.key
        {
            peers[oldest] = nil
        }
        peers[peer] = now
        torrents[infoHash] = peers
        return true
    }

    /// Up to ``maxPerAnswer`` peers of `infoHash` announced within ``lifetime``, in no particular order.
    func peers(for infoHash: NodeID, at now: ContinuousClock.Instant) -> [PeerAddress] {
        guard let peers = torrents[infoHash] else { return [] }
        return Array(peers.lazy.filter { now - $0.value < Self.lifetime }.map(\.key).prefix(Self.maxPerAnswer))
    }

    /// Forgets the peers announced longer than ``lifetime`` ago.
    mutating func expire(at now: ContinuousClock.Instant) {
        for (infoHash, peers) in torrents {
            let kept = peers.filter { now - $0.value < Self.lifetime }
            torrents[infoHash] = kept.isEmpty ? nil : kept
        }
    }
}
