import NIOCore
import Synchronization

/// The encryption side of the peer transport: what `encryption` asks of each connection, the MSE
/// handler put first in a pipeline, and the memory of peers that do not speak MSE.
///
/// Settings go through ``SessionConfiguration/encryption`` (the dialling side) and
/// ``PeerListener`` (the answering side); both reach ``addOutgoing(to:infoHash:policy:timeout:)`` and
/// ``addIncoming(to:policy:infoHashes:)``, which need only a channel of bytes.
package final class PeerEncryption: Sendable {
    /// The policy (the `encryption` setting).
    package let policy: EncryptionPolicy
    /// Addresses that failed an encrypted handshake and then answered a plaintext one: dialled in
    /// plaintext from then on (`prefer` only), until one hangs up on a plaintext dial before its
    /// handshake. Bounded: past ``maxRemembered`` the oldest half is forgotten.
    private let plaintextPeers = Mutex<(order: [PeerAddress], set: Set<PeerAddress>)>(([], []))
    /// The most addresses remembered as plaintext-only.
    static let maxRemembered = 4096

    /// The whole MSE handshake must finish within this: 10 s.
    package static let handshakeTimeout: Duration = .seconds(10)

    package init(policy: EncryptionPolicy = .prefer) {
        self.policy = policy
    }

    /// Whether to dial `address` with an MSE handshake.
    func dialsEncrypted(_ address: PeerAddress) -> Bool {
        switch policy {
        case .disable: return false
        case .require: return true
        case .prefer: return !plaintextPeers.withLock { $0.set.contains(address) }
        }
    }

    /// `address` did not finish an encrypted handshake but answered a plaintext one: dial it in plaintext
    /// from now on.
    func rememberPlaintext(_ address: PeerAddress) {
        plaintextPeers.withLock { memory in
            guard memory.set.insert(address).inserted else { return }
            memory.order.append(address)
            if memory.order.count > Self.maxRemembered {
                let forgotten = memory.order.prefix(Self.maxRemembered / 2)
                memory.set.subtract(forgotten)
                memory.order.removeFirst(forgotten.count)
            }
        }
    }

    /// `address`, remembered as plaintext-only, hung up on a plaintext dial before its handshake: its
    /// next dial offers MSE again.
    func forgetPlaintext(_ address: PeerAddress) {
        plaintextPeers.withLock { memory in
            guard memory.set.remove(address) != nil, let index = memory.order.firstIndex(of: address) else { return }
            memory.order.remove(at: index)
        }
    }

    /// True when `address` is dialled in plaintext because an encrypted attempt failed.
    func remembersPlaintext(_ address: PeerAddress) -> Bool {
        plaintextPeers.withLock { $0.set.contains(address) }
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Puts the MSE initiator first in a fresh outgoing connection's pipeline, for the torrent
    /// `infoHash`, offering what `policy` allows. The returned future gives the outcome once the
    /// handshake is done, or fails with an ``MSEError`` (also after `timeout`, which closes the channel).
    package func addMSEInitiator(
        infoHash: [UInt8], policy: EncryptionPolicy, timeout: Duration = PeerEncryption.handshakeTimeout
    ) throws -> EventLoopFuture<PeerTransportSecurity> {
        let promise = eventLoop.makePromise(of: PeerTransportSecurity.self)
        let handler = MSEHandler(
            machine: .initiator(infoHash: infoHash, methods: policy.methods), completion: promise)
        try addHandler(handler, position: .first)
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(MSEError.timedOut)
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        return promise.futureResult
    }

    /// Puts the MSE responder first in a fresh incoming connection's pipeline (nothing under
    /// `disable`): it answers an encrypted handshake for one of `infoHashes` (asked when the peer
    /// names its torrent) and lets a plaintext one through unless `policy` is `require`. The result
    /// is read with ``MSEResult/security`` once the BitTorrent handshake arrived.
    package func addMSEResponder(
        policy: EncryptionPolicy, infoHashes: @escaping @Sendable () -> [[UInt8]]
    ) throws -> MSEResult? {
        guard policy != .disable else { return nil }
        let result = MSEResult()
        let handler = MSEHandler(
            machine: .responder(
                infoHashes: infoHashes, methods: policy.methods, plaintextAllowed: policy != .require),
            result: result)
        try addHandler(handler, position: .first)
        return result
    }
}
