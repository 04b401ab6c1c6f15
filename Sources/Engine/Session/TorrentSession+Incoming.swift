import NIOCore

extension TorrentSession {
    /// The info-hash peers name in their handshake for this torrent.
    package nonisolated var handshakeInfoHash: [UInt8] { infoHash }

    /// Takes an incoming connection whose handshake named this torrent, with the same checks as a
    /// connection we dial: the session must be running, under its peer limit, and the peer neither
    /// banned, nor ourselves, nor connected already. Sends our handshake and availability.
    ///
    /// - Throws: ``PeerDropped`` saying why the connection is refused.
    func acceptIncoming(
        _ handshake: PeerHandshake, address: PeerAddress, channel: any Channel,
        outbox: PeerOutbox
    ) throws -> PeerKey {
        guard seeding.acceptingIncoming, lifecycle.isRunning else {
            throw PeerDropped(reason: "torrent not running")
        }
        guard handshake.peerId != configuration.peerId else {
            // We dialled our own listening address (a tracker or a peer gave it to us under another
            // name): never dial that address again.
            for slot in swarm.peers.values
            where slot.channel.localAddress.flatMap(PeerAddress.init(socketAddress:)) == address {
                swarm.candidates[slot.address]?.banned = true
                slot.channel.close(promise: nil)
            }
            throw PeerDropped(reason: "connected to ourselves")
        }
        guard swarm.candidates[address]?.banned != true, !seeding.bannedPeerIds.contains(handshake.peerId) else {
            throw PeerDropped(reason: "banned")
        }
        guard swarm.peers.count < configuration.maxPeers else { throw PeerDropped(reason: "too many peers") }
        let key = register(address: address, channel: channel, outbox: outbox, source: .incoming)
        if let problem = handshakeReceived(handshake, from: key) {
            swarm.peers.remove(key)
            throw PeerDropped(reason: problem)
        }
        logger.debug("incoming peer \(address)")
        return key
    }
}

extension TorrentSession {
    /// Saves what changed since the last save now (pieces, totals, peers), rather than at the next tick:
    /// before the queue records a state that depends on it, such as `seeding`.
    package func saveProgressNow() async {
        await saveProgress()
    }
}
