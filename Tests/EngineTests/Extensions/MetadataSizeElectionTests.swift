import Testing

@testable import Engine

/// A metadata fetch is not held up by a peer that announces a wrong `metadata_size` and rejects every
/// request: the size most peers announce wins, and a peer that keeps rejecting is dropped. First the
/// choice as a pure function, then fetches from scripted peers on 127.0.0.1.
@Suite(.timeLimit(.minutes(5))) struct MetadataSizeElectionTests {
    typealias Voter = MetadataSizeElection.Voter
    typealias Current = MetadataSizeElection.Current

    static func voter(_ key: Int, _ size: Int, canAsk: Bool = true) -> Voter {
        Voter(key: PeerKey(key), size: size, canAsk: canAsk)
    }

    @Test func theSizeMostPeersAnnounceWins() {
        #expect(MetadataSizeElection.choose(among: [], current: nil) == nil)
        #expect(MetadataSizeElection.choose(among: [Self.voter(0, 900)], current: nil) == 900)
        let voters = [Self.voter(0, 900), Self.voter(1, 500), Self.voter(2, 500)]
        #expect(MetadataSizeElection.choose(among: voters, current: nil) == 500)
        // A tie goes to the earliest peer that can be asked.
        #expect(MetadataSizeElection.choose(among: [Self.voter(3, 500), Self.voter(1, 900)], current: nil) == 900)
        // A size nobody can be asked for now is not started, however many announce it.
        let resting = [Self.voter(0, 900, canAsk: false), Self.voter(1, 900, canAsk: false), Self.voter(2, 500)]
        #expect(MetadataSizeElection.choose(among: resting, current: nil) == 500)
        #expect(MetadataSizeElection.choose(among: [Self.voter(0, 900, canAsk: false)], current: nil) == nil)
    }

    @Test func anUnstartedAssemblyGivesWay() {
        let liarFirst = Current(size: 900, started: false)
        // More peers announce another size.
        #expect(
            MetadataSizeElection.choose(
                among: [Self.voter(0, 900), Self.voter(1, 500), Self.voter(2, 500)], current: liarFirst) == 500)
        // As many, but the liar rejected and rests: the others are asked.
        #expect(
            MetadataSizeElection.choose(
                among: [Self.voter(0, 900, canAsk: false), Self.voter(1, 500)], current: liarFirst) == 500)
        // As many, and everyone may be asked: it goes on.
        #expect(
            MetadataSizeElection.choose(among: [Self.voter(0, 900), Self.voter(1, 500)], current: liarFirst) == 900)
        // Nobody announces its size any more.
        #expect(MetadataSizeElection.choose(among: [Self.voter(1, 500)], current: liarFirst) == 500)
        #expect(MetadataSizeElection.choose(among: [Self.voter(1, 500, canAsk: false)], current: liarFirst) == nil)
    }

    @Test func aStartedAssemblyKeepsItsSizeWhileSomeoneAnnouncesIt() {
        let started = Current(size: 900, started: true)
        let outvoted = [Self.voter(0, 900, canAsk: false), Self.voter(1, 500), Self.voter(2, 500)]
        #expect(MetadataSizeElection.choose(among: outvoted, current: started) == 900)
        #expect(MetadataSizeElection.choose(among: [Self.voter(1, 500)], current: started) == 500)
    }

    /// A peer announcing a size off by one metadata piece that rejects everything.
    static func sizeLiar(_ metainfo: Metainfo) async throws -> ScriptedPeer {
        try await ScriptedPeer(
            .init(
                infoHash: metainfo.infoHashes.wireHash,
                extensionHandshake: ScriptedPeer.handshake(
                    metadataSize: metainfo.infoBytes.count + MetadataMessage.pieceLength),
                rejectAll: true))
    }

    /// Runs `fetcher` for at most `limit`, then stops it.
    static func fetch(_ fetcher: MetadataFetcher, within limit: Duration) async -> FetchedMetadata? {
        let watchdog = Task {
            try await Task.sleep(for: limit)
            await fetcher.stop()
        }
        defer { watchdog.cancel() }
        return MetadataFetchTests.fetched(await fetcher.run())
    }

    /// The liar is the first and only peer for a while; honest peers come later. Each peer answers at
    /// once, so the request timeout (2 minutes) is never what moves the fetch on.
    @Test func aLiarAskedFirstDoesNotHoldUpTheFetch() async throws {
        let metainfo = MetadataFetchTests.largeMetainfo()
        let liar = try await Self.sizeLiar(metainfo)
        let honest = [try await MetadataFetchTests.honest(metainfo), try await MetadataFetchTests.honest(metainfo)]
        let fetcher = MetadataFetcher(
            infoHashes: metainfo.infoHashes, configuration: MetadataFetchTests.configuration(),
            requestTimeout: .seconds(120))
        await fetcher.addPeers([liar.address], source: .tracker)
        async let outcome = Self.fetch(fetcher, within: .seconds(60))
        try await SessionExtensionTests.waitUntil("the liar asked") {
            liar.received.metadataRequests > 0
        }
        await fetcher.addPeers(honest.map(\.address), source: .tracker)
        let metadata = try #require(await outcome, "the fetch completed within 60 s")
        for peer in honest + [liar] { await peer.close() }
        #expect(metadata.infoBytes == metainfo.infoBytes)
        #expect(!metadata.sources.contains(liar.address))
        #expect(await fetcher.bannedAddresses().isEmpty, "it sent nothing false: dropped, not banned")
    }

    @Test func theMajoritySizeIsFetchedFromTheStart() async throws {
        let metainfo = MetadataFetchTests.largeMetainfo()
        let liar = try await Self.sizeLiar(metainfo)
        let honest = [try await MetadataFetchTests.honest(metainfo), try await MetadataFetchTests.honest(metainfo)]
        let fetcher = MetadataFetcher(
            infoHashes: metainfo.infoHashes, configuration: MetadataFetchTests.configuration(),
            requestTimeout: .seconds(120))
        await fetcher.addPeers([liar.address] + honest.map(\.address), source: .tracker)
        let metadata = try #require(await Self.fetch(fetcher, within: .seconds(60)), "the fetch completed within 60 s")
        for peer in honest + [liar] { await peer.close() }
        #expect(metadata.infoBytes == metainfo.infoBytes)
    }

    /// A peer that rejects every request is dropped after a few, and dialled again later.
    @Test func aPeerThatKeepsRejectingIsDropped() async throws {
        let metainfo = MetadataFetchTests.largeMetainfo()
        let rejecter = try await ScriptedPeer(
            .init(
                infoHash: metainfo.infoHashes.wireHash,
                extensionHandshake: ScriptedPeer.handshake(metadataSize: metainfo.infoBytes.count), rejectAll: true))
        let fetcher = MetadataFetcher(
            infoHashes: metainfo.infoHashes, configuration: MetadataFetchTests.configuration(),
            requestTimeout: .milliseconds(200))
        await fetcher.addPeers([rejecter.address], source: .tracker)
        let run = Task { await fetcher.run() }
        try await SessionExtensionTests.waitUntil("the rejecter dropped and dialled again") {
            rejecter.received.connections >= 2
        }
        #expect(await (fetcher.candidates[rejecter.address]?.failures ?? 0) >= 1)
        let requests = rejecter.received.metadataRequests
        #expect(requests >= MetadataDownload.rejectsToDrop)
        await fetcher.stop()
        _ = await run.value
        await rejecter.close()
    }
}
