import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct TrackerPeerFilterTests {
    @Test func dropsOwnAddressesOwnIdAndDuplicates() {
        let own = PeerAddress(parsing: "127.0.0.1:6881")!
        let other = PeerAddress(parsing: "127.0.0.1:7000")!
        let sneaky = PeerAddress(parsing: "10.0.0.1:6881")!
        let v6 = PeerAddress(parsing: "[::1]:6881")!
        let ownId = [UInt8](repeating: 7, count: 20)
        let response = AnnounceResponse(
            interval: 60, peers: [own, other, sneaky, other, v6, PeerAddress(parsing: "127.0.0.1:7001")!],
            peerIds: [sneaky: ownId])
        let filter = TrackerPeerFilter(ownAddresses: TrackerPeerFilter.loopbackAddresses(port: 6881), ownPeerId: ownId)
        #expect(filter.peers(of: response).map(\.description) == ["127.0.0.1:7000", "127.0.0.1:7001"])
        var limited = filter
        limited.limit = 1
        #expect(limited.peers(of: response) == [other])
        #expect(TrackerPeerFilter(ownAddresses: [own]).filter([own, v6, v6]) == [v6])
    }
}
