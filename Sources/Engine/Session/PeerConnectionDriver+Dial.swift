import NIOCore

/// An owner whose connections btq dials itself: a torrent's ``TorrentSession``, a magnet link's
/// ``MetadataFetcher``. Both dial, register, check handshakes and close the same way.
protocol DialingOwner: PeerConnectionOwner {
    /// The dial to `address` failed (refused, timed out): its candidate waits for its next attempt.
    func dialFailed(_ address: PeerAddress, error: any Error)
    /// Takes a dialled connection in and queues our handshake; returns its key.
    func registerDialled(_ address: PeerAddress, channel: any Channel, outbox: PeerOutbox) -> PeerKey
    /// Checks the peer's handshake (and queues what follows ours); returns why to drop the peer, if so.
    func handshakeReceived(_ handshake: PeerHandshake, from key: PeerKey) -> String?
    /// The connection at `key` ended, for `reason`.
    func connectionEnded(_ key: PeerKey, reason: String)
}

extension PeerConnectionDriver {
    /// Dials `address` for `owner` (within the configuration's connect timeout and memory budget, with
    /// frames up to `maxFrameLength`), registers the connection, and runs it until it ends.
    static func dial<Owner: DialingOwner>(
        _ address: PeerAddress, for owner: Owner, group: any EventLoopGroup, configuration: SessionConfiguration,
        maxFrameLength: Int
    ) async {
        let channel: Connection
        do {
            channel = try await PeerDialer.connect(
                to: address, group: group, timeout: configuration.connectTimeout, maxFrameLength: maxFrameLength,
                budget: configuration.memoryBudget)
        } catch {
            await owner.dialFailed(address, error: error)
            return
        }
        let outbox = PeerOutbox(budget: configuration.memoryBudget)
        let key = await owner.registerDialled(address, channel: channel.channel, outbox: outbox)
        let known = Admitted(owner: owner, key: key)
        let (_, reason, _) = await run(channel, outbox: outbox, known: known) { handshake in
            if let problem = await owner.handshakeReceived(handshake, from: key) { throw PeerDropped(reason: problem) }
            return known
        }
        outbox.finish()
        await owner.connectionEnded(key, reason: reason)
    }
}
