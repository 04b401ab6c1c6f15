import NIOCore

/// An owner whose connections btq dials itself: a torrent's ``TorrentSession``, a magnet link's
/// ``MetadataFetcher``. Both dial, register, check handshakes and close the same way.
protocol DialingOwner: PeerConnectionOwner {
    /// The dial to `address` failed (refused, timed out): its candidate waits for its next attempt.
    func dialFailed(_ address: PeerAddress, error: any Error)
    /// The info-hash our handshake names (the MSE handshake's SKEY too).
    nonisolated var handshakeInfoHash: [UInt8] { get }
    /// Takes a dialled connection in (encrypted or not, as `security` says) and queues our handshake;
    /// returns its key.
    func registerDialled(
        _ address: PeerAddress, channel: any Channel, outbox: PeerOutbox, security: PeerTransportSecurity
    ) -> PeerKey
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
        let encryption = configuration.encryption
        func connect(encrypted: Bool) async throws -> (channel: Connection, security: PeerTransportSecurity) {
            try await PeerDialer.connect(
                to: address, transports: configuration.transports, group: group, timeout: configuration.connectTimeout,
                maxFrameLength: maxFrameLength,
                budget: configuration.memoryBudget,
                encryption: encrypted ? .init(infoHash: owner.handshakeInfoHash, policy: encryption.policy) : nil)
        }
        let connection: (channel: Connection, security: PeerTransportSecurity)
        let dialledEncrypted = encryption.dialsEncrypted(address)
        let fellBack: Bool
        do {
            connection = try await connect(encrypted: dialledEncrypted)
            fellBack = false
        } catch is MSEError where encryption.policy == .prefer {
            // A peer that does not speak MSE (it hung up on our key, or never answered): plaintext,
            // remembered once the peer's handshake comes back, so that the next dials go straight to it.
            do {
                connection = try await connect(encrypted: false)
                fellBack = true
            } catch {
                await owner.dialFailed(address, error: error)
                return
            }
        } catch {
            await owner.dialFailed(address, error: error)
            return
        }
        let channel = connection.channel
        let outbox = PeerOutbox(budget: configuration.memoryBudget)
        let key = await owner.registerDialled(
            address, channel: channel.channel, outbox: outbox, security: connection.security)
        let known = Admitted(owner: owner, key: key)
        let shookHands = SharedValue(false)
        let (_, reason, _) = await run(channel, outbox: outbox, known: known) { handshake in
            if let problem = await owner.handshakeReceived(handshake, from: key) { throw PeerDropped(reason: problem) }
            shookHands.value.withLock { $0 = true }
            if fellBack { encryption.rememberPlaintext(address) }
            return known
        }
        // A peer remembered as plaintext-only that hangs up before its handshake may want MSE after all
        // (one that requires encryption, whose first encrypted dial timed out): the next dial offers MSE
        // again, and falls back to plaintext within the same dial if refused, as libtorrent alternates.
        if !dialledEncrypted, encryption.policy == .prefer, !shookHands.value.withLock({ $0 }) {
            encryption.forgetPlaintext(address)
        }
        outbox.finish()
        await owner.connectionEnded(key, reason: reason)
    }
}
