import Testing

@testable import Engine

/// A session's trackers: which of the torrent's trackers are worked, who the announcer says we are,
/// and the completion announced once.
@Suite(.timeLimit(.minutes(5))) struct SessionTrackersTests {
    static let infoHash = [UInt8](repeating: 1, count: 20)
    static let peerId = [UInt8](repeating: 2, count: 20)
    static let other = PeerAddress(parsing: "127.0.0.1:7000")!

    static func answering() -> ScriptedTransport {
        ScriptedTransport { _ in
            AnnounceResponse(interval: 1800, peers: [PeerAddress(parsing: "127.0.0.1:6881")!, Self.other])
        }
    }

    @Test func onlyReachableTrackersInTiersLeftNonEmpty() {
        let tiers = [["https://a/announce", "http://b/announce"], ["wss://c/announce"], ["udp://d:6969/announce"]]
        #expect(
            SessionTrackers.reachableTiers(tiers) == [
                ["https://a/announce", "http://b/announce"], ["udp://d:6969/announce"],
            ])
    }

    @Test func noAnnouncerWithoutTransportOrReachableTracker() {
        var none = SessionTrackers(transport: nil)
        let withoutTransport = none.start(
            tiers: [["http://a/announce"]], infoHash: Self.infoHash, peerId: Self.peerId, port: 6881
        ) { .init(uploaded: 0, downloaded: 0, left: 0) }
        #expect(withoutTransport == nil && none.announcer == nil)

        var unreachable = SessionTrackers(transport: Self.answering())
        let withoutTracker = unreachable.start(
            tiers: [["wss://a/announce"]], infoHash: Self.infoHash, peerId: Self.peerId, port: 6881
        ) { .init(uploaded: 0, downloaded: 0, left: 0) }
        #expect(withoutTracker == nil && unreachable.announcer == nil)
        // Nothing to tell, and asked only once all the same.
        #expect(unreachable.completionToAnnounce(isComplete: true) == nil && unreachable.completionAnnounced)
    }

    @Test func announcesWhoWeAreAndLeavesOurselvesOut() async {
        let transport = Self.answering()
        var trackers = SessionTrackers(transport: transport)
        let started = trackers.start(
            tiers: [["wss://a/announce"], ["http://b/announce"]], infoHash: Self.infoHash, peerId: Self.peerId,
            port: 6881
        ) { .init(uploaded: 1, downloaded: 2, left: 3) }
        guard let announcer = started else {
            Issue.record("no announcer for a reachable tracker")
            return
        }
        #expect(trackers.announcer === announcer)
        let loop = Task { await announcer.run() }
        let first = await transport.next(1)
        #expect(first.map(\.url) == ["http://b/announce"])
        #expect(first.first?.request.peerId == Self.peerId && first.first?.request.port == 6881)
        #expect(first.first?.request.infoHash == Self.infoHash && first.first?.request.left == 3)
        var events = announcer.events.makeAsyncIterator()
        #expect(await events.next() == .peers([Self.other], from: "http://b/announce"))
        await announcer.stop()
        await loop.value
    }

    @Test func completionIsAnnouncedOnce() {
        var trackers = SessionTrackers(transport: Self.answering())
        let announcer = trackers.start(
            tiers: [["http://b/announce"]], infoHash: Self.infoHash, peerId: Self.peerId, port: 6881
        ) { .init(uploaded: 0, downloaded: 0, left: 0) }
        #expect(announcer != nil)
        #expect(trackers.completionToAnnounce(isComplete: false) == nil && !trackers.completionAnnounced)
        #expect(trackers.completionToAnnounce(isComplete: true) === announcer)
        #expect(trackers.completionToAnnounce(isComplete: true) == nil && trackers.completionAnnounced)
    }

    @Test func aTorrentCompleteAtTheStartNeverAnnouncesCompletion() {
        var trackers = SessionTrackers(transport: Self.answering())
        let announcer = trackers.start(
            tiers: [["http://b/announce"]], infoHash: Self.infoHash, peerId: Self.peerId, port: 6881,
            completeAlready: true
        ) { .init(uploaded: 0, downloaded: 0, left: 0) }
        #expect(announcer != nil && trackers.completionAnnounced)
        #expect(trackers.completionToAnnounce(isComplete: true) == nil)
    }
}
