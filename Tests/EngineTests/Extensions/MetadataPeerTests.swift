import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// One connection of a metadata fetch: when it may be asked for a piece, and what a tick does with it.
struct MetadataPeerTests {
    private let start = ContinuousClock.now

    private func peer() -> MetadataPeer {
        MetadataPeer(
            key: 0, address: PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881), channel: EmbeddedChannel(),
            outbox: PeerOutbox(budget: PeerMemoryBudget()), now: start)
    }

    private func handshake(metadata: Bool, size: Int?) -> ExtensionHandshake {
        ExtensionHandshake(
            extensions: metadata ? [ExtensionHandshake.utMetadata: 3] : [:], clientName: nil, listenPort: nil,
            requestQueueLength: nil, metadataSize: size)
    }

    @Test func isAskedOnlyOnceItAnnouncedMetadataAndNotWhileResting() {
        var peer = peer()
        #expect(!peer.canBeAsked(now: start, rest: .seconds(10)))
        peer.handshaken = true
        peer.extensions = handshake(metadata: true, size: nil)
        // ut_metadata without a size: it does not have the metadata (yet).
        #expect(peer.announcedSize == nil && !peer.canBeAsked(now: start, rest: .seconds(10)))
        peer.extensions = handshake(metadata: false, size: 40_000)
        // A size without ut_metadata means nothing.
        #expect(peer.announcedSize == nil && peer.metadataId == nil)
        peer.extensions = handshake(metadata: true, size: 40_000)
        #expect(peer.announcedSize == 40_000 && peer.metadataId == 3)
        #expect(peer.canBeAsked(now: start, rest: .seconds(10)))
        peer.rejectedAt = start
        #expect(!peer.canBeAsked(now: start + .seconds(9), rest: .seconds(10)))
        #expect(peer.canBeAsked(now: start + .seconds(11), rest: .seconds(10)))
    }

    @Test func aTickClosesLateHandshakesAndSlowPeersAndKeepsTheRestAlive() {
        let timeout = Duration.seconds(20)
        var peer = peer()
        #expect(peer.upkeep(now: start + .seconds(19), handshakeTimeout: timeout) == .nothing)
        #expect(peer.upkeep(now: start + .seconds(21), handshakeTimeout: timeout) == .close("no handshake"))
        peer.handshaken = true
        peer.handshakenAt = start + .seconds(5)
        #expect(peer.upkeep(now: start + .seconds(21), handshakeTimeout: timeout) == .nothing)
        guard case .close = peer.upkeep(now: start + .seconds(26), handshakeTimeout: timeout) else {
            Issue.record("a peer without an extension handshake is kept")
            return
        }
        peer.extensions = handshake(metadata: true, size: 40_000)
        #expect(peer.upkeep(now: start + .seconds(89), handshakeTimeout: timeout) == .nothing)
        #expect(peer.upkeep(now: start + .seconds(91), handshakeTimeout: timeout) == .keepAlive)
        peer.lastKeepAliveSent = start + .seconds(91)
        #expect(peer.upkeep(now: start + .seconds(92), handshakeTimeout: timeout) == .nothing)
        peer.timeouts = MetadataPeer.timeoutsToDrop - 1
        #expect(peer.upkeep(now: start + .seconds(92), handshakeTimeout: timeout) == .nothing)
        peer.timeouts += 1
        guard case .close = peer.upkeep(now: start + .seconds(92), handshakeTimeout: timeout) else {
            Issue.record("a peer that let 3 requests expire is kept")
            return
        }
    }

    @Test func ourExtensionHandshakeOffersMetadataAndPexAndOurPort() throws {
        guard case .extended(0, let payload) = peer().extensionHandshake(listenPort: 51413) else {
            Issue.record("not an extension handshake")
            return
        }
        let sent = try ExtensionHandshake(decoding: payload.readableBytesView)
        #expect(sent.extensions[ExtensionHandshake.utMetadata] == LocalExtensionID.metadata)
        #expect(sent.extensions[ExtensionHandshake.utPex] == LocalExtensionID.pex)
        #expect(sent.listenPort == 51413)
        #expect(sent.yourIP == [127, 0, 0, 1])
    }
}
