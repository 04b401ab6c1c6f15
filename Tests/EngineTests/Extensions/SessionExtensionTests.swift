import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import Engine

/// The extension protocol inside a download session: its extension handshake, peer exchange in both
/// directions, and no sharing for private torrents (BEP 27). Every address is 127.0.0.1.
@Suite(.timeLimit(.minutes(5))) struct SessionExtensionTests {
    /// A private torrent's fixture: like ``SessionFixture`` with `private` set.
    static func privateMetainfo(length: Int, pieceLength: Int) -> Metainfo {
        let plain = SessionFixture(length: length, pieceLength: pieceLength).metainfo.infoBytes
        let info = Array(plain.dropLast()) + Array("7:privatei1ee".utf8)
        return try! Metainfo(bytes: Array("d4:info".utf8) + info + Array("e".utf8))
    }

    /// Waits for `condition`, recording an issue naming `what` if it does not come within `timeout`.
    static func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async -> Bool) async throws
    {
        if try await !poll(timeout: timeout, interval: .milliseconds(10), until: condition) {
            Issue.record("timed out waiting for \(what)")
        }
    }

    /// A peer btq hears of only through PEX is dialled, and the download completes from it.
    @Test func peerLearnedThroughPexIsConnected() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 21)
        let hash = fixture.metainfo.infoHashes.wireHash
        let seed = try await FakeSeed(infoHash: hash, content: fixture.content, pieceLength: 32_768)
        let gossip = try await ScriptedPeer(
            .init(
                infoHash: hash, extensionHandshake: ScriptedPeer.handshake(metadataSize: nil),
                pex: PexMessage(added: [.init(address: seed.address, flags: [.seed, .reachable])])))
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: TorrentSessionTests.quickConfiguration())
        await session.addPeers([gossip.address], source: .manual)
        let outcome = await session.run()
        #expect(outcome == .completed)
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
        #expect(await session.core.swarm.candidates[seed.address]?.source == .pex)
        // The session's extension handshake, as the gossiping peer received it.
        let ours = try #require(gossip.received.extensionHandshakes.first)
        #expect(ours.id(of: "ut_pex") == LocalExtensionID.pex)
        #expect(ours.id(of: "ut_metadata") == LocalExtensionID.metadata)
        #expect(ours.metadataSize == fixture.metainfo.infoBytes.count)
        #expect(ours.listenPort == 1)
        #expect(ours.requestQueueLength == SessionConfiguration().maxPeerRequests)
        #expect(ours.yourIP == [127, 0, 0, 1])
        await seed.close()
        await gossip.close()
    }

    /// The session tells a PEX-speaking peer about the other peers it is connected to.
    @Test func sessionSendsPexAboutItsOtherPeers() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 22)
        let hash = fixture.metainfo.infoHashes.wireHash
        let listener = try await ScriptedPeer(
            .init(infoHash: hash, extensionHandshake: ScriptedPeer.handshake(metadataSize: nil)))
        let other = try await ScriptedPeer(.init(infoHash: hash, extensionHandshake: nil))
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: TorrentSessionTests.quickConfiguration(), stopWhenComplete: false)
        await session.addPeers([listener.address, other.address], source: .tracker)
        async let outcome = session.run()
        try await Self.waitUntil("a PEX message") { !listener.received.pexReceived.isEmpty }
        await session.stop()
        _ = await outcome
        let pex = try #require(listener.received.pexReceived.first)
        #expect(pex.added.map(\.address) == [other.address])
        #expect(pex.added.first?.flags == .reachable)
        #expect(pex.dropped.isEmpty)
        await listener.close()
        await other.close()
    }

    /// BEP 27: a private torrent offers neither metadata nor PEX, and ignores PEX it receives.
    @Test func privateTorrentSharesNothing() async throws {
        let metainfo = Self.privateMetainfo(length: 4 * 32_768, pieceLength: 32_768)
        #expect(metainfo.isPrivate)
        let hash = metainfo.infoHashes.wireHash
        let stranger = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 9)
        let gossip = try await ScriptedPeer(
            .init(
                infoHash: hash, extensionHandshake: ScriptedPeer.handshake(metadataSize: nil),
                pex: PexMessage(added: [.init(address: stranger)]),
                afterPex: ExtensionHandshake(clientName: "after PEX"), forcedPexID: LocalExtensionID.pex))
        let other = try await ScriptedPeer(.init(infoHash: hash, extensionHandshake: nil))
        let session = TorrentSession(
            metainfo: metainfo, storage: MemoryStorage(metainfo: metainfo),
            configuration: TorrentSessionTests.quickConfiguration(), stopWhenComplete: false)
        await session.addPeers([gossip.address, other.address], source: .tracker)
        async let outcome = session.run()
        // Both peers connected, and the gossip's PEX handled (the handshake behind it arrived).
        try await Self.waitUntil("both peers, and the PEX message handled") {
            let slots = await session.core.swarm.peers.values.filter(\.handshaken)
            return slots.count == 2 && slots.contains { $0.extensions.clientName == "after PEX" }
        }
        await session.tick()
        #expect(await session.core.swarm.peers.values.allSatisfy { $0.extensions.pexSentAt == nil })
        await session.stop()
        _ = await outcome
        let ours = try #require(gossip.received.extensionHandshakes.first)
        #expect(ours.id(of: "ut_pex") == nil)
        #expect(ours.id(of: "ut_metadata") == nil)
        #expect(ours.metadataSize == nil)
        #expect(ours.clientName == ExtensionProtocol.clientName)
        #expect(gossip.received.pexReceived.isEmpty)
        #expect(await session.core.swarm.candidates[stranger] == nil)
        await gossip.close()
        await other.close()
    }

    /// A peer whose extension handshake is malformed is dropped (and, dialled again, dropped again).
    @Test func malformedExtensionHandshakeDropsThePeer() async throws {
        let fixture = SessionFixture(length: 2 * 32_768, pieceLength: 32_768, seed: 23)
        let hash = fixture.metainfo.infoHashes.wireHash
        let bad = try await ScriptedPeer(.init(infoHash: hash, rawExtensionHandshake: Array("d1:md".utf8)))
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: TorrentSessionTests.quickConfiguration(), stopWhenComplete: false)
        await session.addPeers([bad.address], source: .manual)
        async let outcome = session.run()
        try await Self.waitUntil("the peer to be dropped and dialled again") { bad.received.connections >= 2 }
        await session.stop()
        _ = await outcome
        #expect(bad.received.connections >= 2)
        await bad.close()
    }

    /// A peer's `reqq` caps the requests kept outstanding at it; without one, the pipeline decides.
    @Test func requestQueueLengthCapsTheDepth() {
        let now = ContinuousClock.now
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        var slot = PeerSlot(
            key: 0, address: PeerAddress(host: .ipv4(127, 0, 0, 1), port: 1), source: .manual,
            channel: EmbeddedChannel(), outbox: outbox, connectedAt: now,
            machine: PeerConnectionStateMachine(configuration: .init(pieceCount: 1, pieceLength: 16_384)),
            lastMessageAt: now, lastKeepAliveSent: now)
        #expect(slot.requestDepth == slot.pipeline.targetDepth)
        slot.extensions.handshake = ExtensionHandshake(requestQueueLength: 3)
        #expect(slot.requestDepth == 3)
        slot.extensions.handshake = ExtensionHandshake(requestQueueLength: 100_000)
        #expect(slot.requestDepth == slot.pipeline.targetDepth)
    }
}
