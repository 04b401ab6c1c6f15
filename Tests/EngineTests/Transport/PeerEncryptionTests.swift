import NIOCore
import NIOPosix
import Testing

@testable import Engine

/// The dialling side over real loopback sockets, and the memory of plaintext-only peers.
@Suite(.timeLimit(.minutes(2))) struct PeerEncryptionTests {
    static let infoHash = [UInt8](repeating: 0x3C, count: 20)

    @Test func whomToDialEncrypted() {
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881)
        #expect(PeerEncryption(policy: .require).dialsEncrypted(address))
        #expect(!PeerEncryption(policy: .disable).dialsEncrypted(address))
        let prefer = PeerEncryption(policy: .prefer)
        #expect(prefer.dialsEncrypted(address))
        prefer.rememberPlaintext(address)
        #expect(!prefer.dialsEncrypted(address), "a plaintext-only peer is dialled in plaintext from then on")
        // Bounded: past the limit the oldest half is forgotten, the newest kept.
        for port in 1...PeerEncryption.maxRemembered {
            prefer.rememberPlaintext(PeerAddress(host: .ipv4(10, 0, 0, 1), port: UInt16(port)))
        }
        #expect(prefer.dialsEncrypted(address), "the oldest address was forgotten")
        #expect(
            !prefer.dialsEncrypted(PeerAddress(host: .ipv4(10, 0, 0, 1), port: UInt16(PeerEncryption.maxRemembered))))
    }

    /// A remembered peer that hung up on a plaintext dial is offered MSE again; the others stay
    /// remembered, and the bound still forgets the oldest first.
    @Test func aForgottenPlaintextPeerIsDialledEncryptedAgain() {
        let prefer = PeerEncryption(policy: .prefer)
        let first = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 1)
        let second = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 2)
        prefer.rememberPlaintext(first)
        prefer.rememberPlaintext(second)
        prefer.forgetPlaintext(first)
        #expect(prefer.dialsEncrypted(first))
        #expect(!prefer.dialsEncrypted(second))
        prefer.forgetPlaintext(PeerAddress(host: .ipv4(127, 0, 0, 1), port: 3))
        prefer.rememberPlaintext(first)
        #expect(!prefer.dialsEncrypted(first), "remembered again after a plaintext handshake")
        // Past the bound the oldest half goes, `second` (now the oldest) first; the newest stay.
        let newest = PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(PeerEncryption.maxRemembered + 2))
        for port in 4...Int(newest.port) {
            prefer.rememberPlaintext(PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(port)))
        }
        #expect(prefer.dialsEncrypted(second))
        #expect(!prefer.dialsEncrypted(newest))
    }

    /// A listener that accepts and never answers: the encrypted dial fails with the handshake's own
    /// timeout (the error says which timer fired; elapsed time is not asserted, it depends on load).
    @Test func silentPeerTimesOut() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = UInt16(server.localAddress!.port!)
        await #expect(throws: MSEError.timedOut) {
            _ = try await PeerDialer.connect(
                to: PeerAddress(host: .ipv4(127, 0, 0, 1), port: port), group: MultiThreadedEventLoopGroup.singleton,
                timeout: .seconds(5), maxFrameLength: 1 << 20,
                encryption: .init(infoHash: Self.infoHash, policy: .require, timeout: .milliseconds(300)))
        }
    }

    /// Our dialler against our listener: the encrypted handshake completes over real sockets, both
    /// sides agree on RC4, and plaintext is refused by a listener that requires encryption.
    @Test func dialAgainstListener() async throws {
        let registry = SessionRegistry()
        let listener = try await PeerListener.bind(
            host: "127.0.0.1", port: 0, registry: registry, encryption: .require)
        defer { listener.close() }
        let run = Task { await listener.run() }
        defer { run.cancel() }
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: listener.port)
        // No torrent runs: the listener cannot find the info-hash and refuses.
        await #expect(throws: MSEError.self) {
            _ = try await PeerDialer.connect(
                to: address, group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5),
                maxFrameLength: 1 << 20, encryption: .init(infoHash: Self.infoHash, policy: .require))
        }
        // Plaintext: the listener requires encryption and closes at once.
        let (plain, security) = try await PeerDialer.connect(
            to: address, group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5), maxFrameLength: 1 << 20)
        #expect(security == .plain)
        try await plain.executeThenClose { inbound, outbound in
            try await outbound.write(
                .handshake(PeerHandshake(infoHash: Self.infoHash, peerId: [UInt8](repeating: 1, count: 20))))
            do {
                for try await _ in inbound {}
            } catch {
                // A reset is a close too.
            }
        }
    }
}
