/// One connected peer of a running session, as a client's peer list shows it (the RPC's `peers`).
package struct LivePeer: Sendable, Hashable {
    package var address: String
    package var port: Int
    /// What it calls itself (the extension handshake's `v`, else its peer id's client), or empty.
    package var client: String
    /// Payload bytes per second from it and to it, over the last few seconds.
    package var downloadRate: Double
    package var uploadRate: Double
    /// The fraction of the torrent's pieces it has.
    package var progress: Double
    package var isEncrypted: Bool
    /// Connected over uTP (else TCP).
    package var isUTP: Bool
    package var isIncoming: Bool
    /// We are interested and it does not choke us; it is interested and we do not choke it.
    package var isDownloadingFrom: Bool
    package var isUploadingTo: Bool
    package var source: PeerUpdate.Source
}

extension TorrentSession {
    /// The peers past their handshake, with their rates now; `limit` at most, fastest first.
    package func livePeers(limit: Int = 200) -> [LivePeer] {
        let now = ContinuousClock.now
        let pieceCount = max(1, metainfo.pieceCount)
        var peers: [LivePeer] = []
        for slot in core.swarm.peers.values where slot.handshaken {
            peers.append(
                LivePeer(
                    address: slot.address.hostString, port: Int(slot.address.port),
                    client: slot.extensions.clientName ?? slot.peerId.flatMap(PeerID.clientName) ?? "",
                    downloadRate: slot.rates.download.peekRate(at: now),
                    uploadRate: slot.rates.upload.peekRate(at: now),
                    progress: min(1, Double(slot.machine.peerPieces.cardinality) / Double(pieceCount)),
                    isEncrypted: slot.security == .rc4, isUTP: slot.transport == .utp,
                    isIncoming: slot.source == .incoming,
                    isDownloadingFrom: slot.machine.amInterested && !slot.machine.peerChoking,
                    isUploadingTo: slot.machine.peerInterested && !slot.machine.amChoking, source: slot.source))
        }
        peers.sort { ($0.downloadRate + $0.uploadRate, $0.address) > ($1.downloadRate + $1.uploadRate, $1.address) }
        return Array(peers.prefix(limit))
    }
}
