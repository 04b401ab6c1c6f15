import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Engine

/// Fetching a magnet's metadata from peers on real 127.0.0.1 sockets: honest, lying, rejecting,
/// oversized and extension-less peers, and btq's own session serving it.
@Suite(.timeLimit(.minutes(5))) struct MetadataFetchTests {
    static func configuration() -> SessionConfiguration {
        var configuration = SessionConfiguration(
            listenPort: 1, handshakeTimeout: .seconds(10), tickInterval: .milliseconds(50),
            reconnectDelay: .milliseconds(100))
        configuration.failedReconnectDelay = .milliseconds(100)
        return configuration
    }

    /// A metainfo whose info dictionary spans several 16 KiB metadata pieces (3,000 piece hashes).
    static func largeMetainfo(private isPrivate: Bool = false) -> Metainfo {
        var generator = SplitMix64(seed: 42)
        let pieceCount = 3_000
        let hashes = (0..<(pieceCount * 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let flag = isPrivate ? "7:privatei1e" : ""
        let info =
            Array(
                "d6:lengthi\(pieceCount * 16_384)e4:name8:data.bin12:piece lengthi16384e6:pieces\(hashes.count):".utf8)
            + hashes + Array("\(flag)e".utf8)
        return try! Metainfo(bytes: Array("d4:info".utf8) + info + Array("e".utf8))
    }

    /// The same bytes with one flipped: same size, wrong hash.
    static func forged(_ info: [UInt8]) -> [UInt8] {
        var bytes = info
        bytes[bytes.count - 100] ^= 0xff
        return bytes
    }

    static func honest(_ metainfo: Metainfo) async throws -> ScriptedPeer {
        try await ScriptedPeer(
            .init(
                infoHash: metainfo.infoHashes.wireHash,
                extensionHandshake: ScriptedPeer.handshake(metadataSize: metainfo.infoBytes.count),
                metadata: metainfo.infoBytes, hashes: metainfo))
    }

    /// A peer of `metainfo`'s torrent that announces its metadata size and serves `metadata` (the real
    /// info dictionary, or a forgery of the same size).
    static func peer(_ metainfo: Metainfo, serving metadata: [UInt8]) async throws -> ScriptedPeer {
        try await ScriptedPeer(
            .init(
                infoHash: metainfo.infoHashes.wireHash,
                extensionHandshake: ScriptedPeer.handshake(metadataSize: metainfo.infoBytes.count),
                metadata: metadata))
    }

    static func fetched(_ outcome: MetadataFetcher.Outcome) -> FetchedMetadata? {
        if case .fetched(let metadata) = outcome { return metadata }
        return nil
    }

    @Test func fetchesFromOnePeer() async throws {
        let metainfo = Self.largeMetainfo()
        #expect(MetadataMessage.pieceCount(metadataSize: metainfo.infoBytes.count) == 4)
        let peer = try await Self.honest(metainfo)
        let fetcher = MetadataFetcher(infoHashes: metainfo.infoHashes, configuration: Self.configuration())
        await fetcher.addPeers([peer.address], source: .magnet)
        let outcome = await fetcher.run()
        await peer.close()
        let metadata = try #require(Self.fetched(outcome))
        #expect(metadata.infoBytes == metainfo.infoBytes)
        #expect(metadata.sources == [peer.address])
        #expect(metadata.peers.map(\.address) == [peer.address])
        #expect(metadata.peers.map(\.source) == [.magnet])
        // Its extension handshake asked for nothing it cannot do and named the ids btq receives under.
        let ours = try #require(peer.received.extensionHandshakes.first)
        #expect(ours.id(of: "ut_metadata") == LocalExtensionID.metadata)
        #expect(ours.id(of: "ut_pex") == LocalExtensionID.pex)
        #expect(ours.clientName == ExtensionProtocol.clientName)
        #expect(ours.yourIP == [127, 0, 0, 1])
        #expect(ours.metadataSize == nil)
        #expect(peer.received.metadataRequests == 4)
    }

    /// Peers from a magnet's tracker (a fake HTTP tracker on 127.0.0.1), and the tracker's state.
    @Test func fetchesFromAPeerTheTrackerNames() async throws {
        let metainfo = Self.largeMetainfo()
        let peer = try await Self.honest(metainfo)
        let compact = [127, 0, 0, 1, UInt8(peer.port >> 8), UInt8(peer.port & 0xff)]
        let reply = Array("d8:intervali1800e5:peers6:".utf8) + compact + Array("e".utf8)
        let tracker = try await FakeHTTPTracker.start { _ in .ok(reply) }
        let url = "http://127.0.0.1:\(tracker.port)/announce"
        let transport = TrackerClient(group: MultiThreadedEventLoopGroup.singleton)
        let fetcher = MetadataFetcher(
            infoHashes: metainfo.infoHashes, trackers: [url], configuration: Self.configuration(), transport: transport)
        let metadata = try #require(Self.fetched(await fetcher.run()))
        #expect(metadata.infoBytes == metainfo.infoBytes)
        #expect(metadata.peers.map(\.source) == [.tracker])
        let statuses = await fetcher.takeTrackerStatuses()
        #expect(statuses.map(\.url) == [url])
        #expect(statuses.first?.lastError == nil && statuses.first?.lastSuccessAt != nil)
        await transport.shutdown()
        await tracker.stop()
        await peer.close()
    }

    @Test func liarIsBannedAndNeverAskedAgain() async throws {
        let metainfo = Self.largeMetainfo()
        let liar = try await Self.peer(metainfo, serving: Self.forged(metainfo.infoBytes))
        let honest = try await Self.honest(metainfo)
        let fetcher = MetadataFetcher(infoHashes: metainfo.infoHashes, configuration: Self.configuration())
        // The liar alone first, so it is the one asked; the honest peer joins once it is banned.
        await fetcher.addPeers([liar.address], source: .tracker)
        async let outcome = fetcher.run()
        try await poll(timeout: .seconds(60), interval: .milliseconds(10)) { await !fetcher.bannedAddresses().isEmpty }
        #expect(await fetcher.bannedAddresses() == [liar.address])
        await fetcher.addPeers([honest.address, liar.address], source: .tracker)
        let metadata = try #require(Self.fetched(await outcome))
        await liar.close()
        await honest.close()
        #expect(metadata.infoBytes == metainfo.infoBytes)
        #expect(metadata.sources == [honest.address])
        #expect(!metadata.peers.map(\.address).contains(liar.address))
        #expect(liar.received.connections == 1)
        #expect(liar.received.metadataRequests == 4)
    }

    @Test func mixedAssemblyFailureEndsWithTheRightMetadata() async throws {
        let metainfo = Self.largeMetainfo()
        let liar = try await Self.peer(metainfo, serving: Self.forged(metainfo.infoBytes))
        let honest = try await Self.honest(metainfo)
        let fetcher = MetadataFetcher(infoHashes: metainfo.infoHashes, configuration: Self.configuration())
        await fetcher.addPeers([liar.address, honest.address], source: .tracker)
        let metadata = try #require(Self.fetched(await fetcher.run()))
        await liar.close()
        await honest.close()
        #expect(metadata.infoBytes == metainfo.infoBytes)
    }

    @Test func unhelpfulPeersAreSkipped() async throws {
        let metainfo = Self.largeMetainfo()
        let hash = metainfo.infoHashes.wireHash
        let size = metainfo.infoBytes.count
        let rejecter = try await ScriptedPeer(
            .init(infoHash: hash, extensionHandshake: ScriptedPeer.handshake(metadataSize: size), rejectAll: true))
        let oversized = try await ScriptedPeer(
            .init(infoHash: hash, extensionHandshake: ScriptedPeer.handshake(metadataSize: 100 << 20)))
        let plain = try await ScriptedPeer(.init(infoHash: hash, reserved: [.fast]))
        let without = try await ScriptedPeer(
            .init(infoHash: hash, extensionHandshake: ScriptedPeer.handshake(metadataSize: nil)))
        let fetcher = MetadataFetcher(infoHashes: metainfo.infoHashes, configuration: Self.configuration())
        await fetcher.addPeers([rejecter, oversized, plain, without].map(\.address), source: .tracker)
        async let outcome = fetcher.run()
        try await poll(timeout: .seconds(60), interval: .milliseconds(10)) { rejecter.received.metadataRequests > 0 }
        #expect(rejecter.received.metadataRequests > 0)
        // Peers that cannot send metadata now are asked again later, less and less often.
        for peer in [plain, without] {
            try await SessionExtensionTests.waitUntil("a backoff for a peer without metadata") {
                await (fetcher.candidates[peer.address]?.failures ?? 0) >= 1
            }
        }
        let honest = try await Self.honest(metainfo)
        await fetcher.addPeers([honest.address], source: .manual)
        let metadata = try #require(Self.fetched(await outcome))
        for peer in [rejecter, oversized, plain, without, honest] { await peer.close() }
        #expect(metadata.infoBytes == metainfo.infoBytes)
        #expect(metadata.sources == [honest.address])
        #expect(oversized.received.metadataRequests == 0)
        #expect(await fetcher.bannedAddresses().isEmpty)
    }

    @Test func stopEndsAFetchWithNoPeers() async throws {
        let metainfo = Self.largeMetainfo()
        let fetcher = MetadataFetcher(infoHashes: metainfo.infoHashes, configuration: Self.configuration())
        async let outcome = fetcher.run()
        await fetcher.stop()
        #expect(Self.fetched(await outcome) == nil)
    }

    /// Hybrid and v2-only magnets: the info dictionary is checked with SHA-256 too (and the handshake
    /// names the truncated v2 hash when there is no v1 one), then the piece layers it lacks are asked
    /// of the peer with hash requests and come back proved.
    @Test func hybridAndV2OnlyMagnetsAreCheckedWithSHA256() async throws {
        let layers = ["piece layers": MetainfoTests.pieceLayers()]
        let hybrid = try Metainfo(bytes: MetainfoTests.torrent(info: MetainfoTests.hybridInfo(), extra: layers))
        var v2Info = MetainfoTests.hybridInfo()
        v2Info["files"] = nil
        v2Info["pieces"] = nil
        let v2 = try Metainfo(bytes: MetainfoTests.torrent(info: v2Info, extra: layers))
        #expect(hybrid.version == .hybrid && v2.version == .v2 && v2.infoHashes.v1 == nil)
        for metainfo in [hybrid, v2] {
            let peer = try await Self.honest(metainfo)
            let fetcher = MetadataFetcher(infoHashes: metainfo.infoHashes, configuration: Self.configuration())
            await fetcher.addPeers([peer.address], source: .magnet)
            let metadata = try #require(Self.fetched(await fetcher.run()))
            await peer.close()
            #expect(metadata.infoBytes == metainfo.infoBytes)
            #expect(!metainfo.pieceLayers.isEmpty && metadata.pieceLayers == metainfo.pieceLayers)
            #expect(peer.received.hashRequests > 0)
        }
        // A v1 hash that agrees is not enough when the v2 hash does not.
        let mixed = try #require(InfoHashes(v1: hybrid.infoHashes.v1, v2: v2.infoHashes.v2))
        #expect(!mixed.matches(info: hybrid.infoBytes))
        #expect(hybrid.infoHashes.matches(info: hybrid.infoBytes))
    }

    /// btq's own session serves its metadata over an incoming connection: what a second btq fetching
    /// the magnet gets. Once the fetcher leaves, the session may dial it back at the port its extension
    /// handshake named.
    @Test func sessionServesMetadataToAFetcher() async throws {
        let fixture = SessionFixture(length: 5 * 16_384, pieceLength: 16_384)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: TorrentSessionTests.quickConfiguration(), stopWhenComplete: false)
        let registry = SessionRegistry()
        registry.add(session)
        let listener = try await PeerListener.bind(host: "127.0.0.1", port: 0, registry: registry)
        async let accepting: Void = listener.run()
        async let outcome = session.run()
        var configuration = Self.configuration()
        configuration.listenPort = 9
        let fetcher = MetadataFetcher(infoHashes: fixture.metainfo.infoHashes, configuration: configuration)
        await fetcher.addPeers([PeerAddress(host: .ipv4(127, 0, 0, 1), port: listener.port)], source: .manual)
        let metadata = try #require(Self.fetched(await fetcher.run()))
        #expect(metadata.infoBytes == fixture.metainfo.infoBytes)
        #expect(try Metainfo(fetchedInfo: metadata.infoBytes, trackers: []).infoHashes == fixture.metainfo.infoHashes)
        let dialBack = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 9)
        try await SessionExtensionTests.waitUntil("the fetcher's listen address as a candidate") {
            await session.core.swarm.candidates[dialBack] != nil
        }
        #expect(await session.core.swarm.candidates[dialBack]?.source == .incoming)
        await session.stop()
        _ = await outcome
        listener.close()
        await accepting
    }
}
