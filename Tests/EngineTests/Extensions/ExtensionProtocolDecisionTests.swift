import NIOCore
import Testing

@testable import Engine

/// What the session's extension protocol decides, on values: handshakes, metadata served, PEX taken
/// and sent (the session tests run the same over sockets).
@Suite(.timeLimit(.minutes(5)))
struct ExtensionProtocolDecisionTests {
    let now = ContinuousClock.now
    let peerAddress = PeerAddress(parsing: "127.0.0.9:7000")!

    /// A peer that has sent its extension handshake naming both extensions (its ids 3 and 4).
    func peer() -> PeerExtensionState {
        var state = PeerExtensionState()
        state.handshake = ExtensionHandshake(extensions: [
            ExtensionHandshake.utMetadata: 3, ExtensionHandshake.utPex: 4,
        ])
        return state
    }

    func payload(_ message: MetadataMessage) -> ByteBuffer { ByteBuffer(bytes: message.encoded()) }

    func addresses(_ count: Int, from first: Int = 1) -> [PeerAddress] {
        (first..<(first + count)).map { PeerAddress(parsing: "127.0.\($0 / 250).\($0 % 250 + 1):6881")! }
    }

    @Test func aPrivateTorrentOffersNeitherMetadataNorPeers() {
        let open = ExtensionProtocol(metainfo: MetadataFetchTests.largeMetainfo())
        let closed = ExtensionProtocol(metainfo: MetadataFetchTests.largeMetainfo(private: true))
        let offered = open.handshake(listenPort: 6881, requestQueueLength: 500, to: peerAddress, uploadOnly: false)
        #expect(offered.id(of: ExtensionHandshake.utMetadata) == LocalExtensionID.metadata)
        #expect(offered.id(of: ExtensionHandshake.utPex) == LocalExtensionID.pex)
        #expect(offered.metadataSize == open.info.count)
        #expect(offered.clientName == ExtensionProtocol.clientName)
        let withheld = closed.handshake(listenPort: 6881, requestQueueLength: 500, to: peerAddress, uploadOnly: true)
        #expect(
            withheld.id(of: ExtensionHandshake.utMetadata) == nil && withheld.id(of: ExtensionHandshake.utPex) == nil)
        #expect(withheld.metadataSize == nil)
        // Even asked under our ids, a private torrent answers nothing and learns nothing.
        var state = peer()
        let asked = closed.received(
            id: LocalExtensionID.metadata, payload: payload(.request(piece: 0)), peer: &state, pexRoom: 10, now: now
        ) { _ in false }
        #expect(asked.replies.isEmpty && asked.misbehaved == nil)
        let pex = PexMessage(added: addresses(3).map { PexMessage.Peer(address: $0) })
        let told = closed.received(
            id: LocalExtensionID.pex, payload: ByteBuffer(bytes: pex.encoded()), peer: &state, pexRoom: 10, now: now
        ) { _ in false }
        #expect(told.learned.isEmpty)
        var connected: [PeerAddress: PexMessage.Flags] = [:]
        for address in addresses(3) { connected[address] = .reachable }
        #expect(closed.peerExchange(for: &state, own: nil, connected: connected, now: now) == nil)
    }

    @Test func metadataPiecesAreServedRejectedPastTheEndAndBoundedPerPeer() throws {
        let protocolState = ExtensionProtocol(metainfo: MetadataFetchTests.largeMetainfo())
        let pieces = MetadataMessage.pieceCount(metadataSize: protocolState.info.count)
        #expect(pieces > 1)
        var state = peer()
        let served = protocolState.received(
            id: LocalExtensionID.metadata, payload: payload(.request(piece: 1)), peer: &state, pexRoom: 0, now: now
        ) { _ in false }
        guard case .extended(let id, let body)? = served.replies.first else {
            Issue.record("no reply: \(served)")
            return
        }
        #expect(id == 3)
        let start = protocolState.info.startIndex + MetadataMessage.pieceLength
        let expected = Array(
            protocolState.info[start..<min(start + MetadataMessage.pieceLength, protocolState.info.endIndex)])
        #expect(
            try MetadataMessage.decode(body.readableBytesView)
                == .data(piece: 1, totalSize: protocolState.info.count, bytes: expected))
        let past = protocolState.received(
            id: LocalExtensionID.metadata, payload: payload(.request(piece: pieces)), peer: &state, pexRoom: 0, now: now
        ) { _ in false }
        guard case .extended(_, let rejection)? = past.replies.first else {
            Issue.record("no rejection")
            return
        }
        #expect(try MetadataMessage.decode(rejection.readableBytesView) == .reject(piece: pieces))
        // Up to the limit every request is answered; the next one drops the peer and gets nothing.
        for _ in 2..<protocolState.maxMetadataRequests {
            let answer = protocolState.received(
                id: LocalExtensionID.metadata, payload: payload(.request(piece: 0)), peer: &state, pexRoom: 0, now: now
            ) { _ in false }
            #expect(answer.replies.count == 1 && answer.misbehaved == nil)
        }
        let over = protocolState.received(
            id: LocalExtensionID.metadata, payload: payload(.request(piece: 0)), peer: &state, pexRoom: 0, now: now
        ) { _ in false }
        #expect(over.replies.isEmpty && over.misbehaved != nil)
    }

    @Test func peersFromPexAreNewOnesWithinRoomAndNotTooOften() {
        let protocolState = ExtensionProtocol(metainfo: MetadataFetchTests.largeMetainfo())
        var state = peer()
        let named = addresses(10)
        let pex = ByteBuffer(bytes: PexMessage(added: named.map { PexMessage.Peer(address: $0) }).encoded())
        let known = Set(named.prefix(3))
        let first = protocolState.received(id: LocalExtensionID.pex, payload: pex, peer: &state, pexRoom: 5, now: now) {
            known.contains($0)
        }
        #expect(first.learned == Array(named[3..<8]))
        // A second message within 20 s is ignored.
        let soon = protocolState.received(
            id: LocalExtensionID.pex, payload: pex, peer: &state, pexRoom: 5, now: now + .seconds(19)
        ) { _ in false }
        #expect(soon.learned.isEmpty)
        let later = protocolState.received(
            id: LocalExtensionID.pex, payload: pex, peer: &state, pexRoom: 0, now: now + .seconds(21)
        ) { _ in false }
        #expect(later.learned.isEmpty, "no room left")
        // A message that does not decode drops the peer.
        let broken = protocolState.received(
            id: LocalExtensionID.pex, payload: ByteBuffer(bytes: Array("d5:added".utf8)), peer: &state, pexRoom: 5,
            now: now + .seconds(60)
        ) { _ in false }
        #expect(broken.misbehaved != nil)
    }

    @Test func pexTellsEachPeerWhatChangedAboutOnceAMinute() throws {
        let protocolState = ExtensionProtocol(metainfo: MetadataFetchTests.largeMetainfo())
        var state = peer()
        let own = addresses(1, from: 100)[0]
        var connected: [PeerAddress: PexMessage.Flags] = [own: .reachable]
        for address in addresses(3) { connected[address] = .reachable }
        let first = try #require(protocolState.peerExchange(for: &state, own: own, connected: connected, now: now))
        guard case .extended(let id, let body) = first else { throw Failure() }
        #expect(id == 4)
        let sent = try PexMessage(decoding: body.readableBytesView)
        #expect(Set(sent.added.map(\.address)) == Set(addresses(3)) && sent.dropped.isEmpty)
        // Within the minute nothing is sent, even when the connected peers change.
        connected[addresses(1)[0]] = nil
        #expect(protocolState.peerExchange(for: &state, own: own, connected: connected, now: now + .seconds(59)) == nil)
        let next = try #require(
            protocolState.peerExchange(for: &state, own: own, connected: connected, now: now + .seconds(61)))
        guard case .extended(_, let nextBody) = next else { throw Failure() }
        let change = try PexMessage(decoding: nextBody.readableBytesView)
        #expect(change.added.isEmpty && change.dropped == [addresses(1)[0]])
        // Nothing changed: nothing sent. A peer without ut_pex never gets one.
        #expect(
            protocolState.peerExchange(for: &state, own: own, connected: connected, now: now + .seconds(200)) == nil)
        var silent = PeerExtensionState()
        #expect(protocolState.peerExchange(for: &silent, own: nil, connected: connected, now: now) == nil)
    }

    /// A connected IPv6 peer is sent in `added6` (18 bytes), and in `dropped6` once it left.
    @Test func pexSendsIPv6PeersInAdded6AndDropped6() throws {
        let protocolState = ExtensionProtocol(metainfo: MetadataFetchTests.largeMetainfo())
        var state = peer()
        let v6 = PeerAddress(parsing: "[::1]:6881")!
        var connected: [PeerAddress: PexMessage.Flags] = [v6: .reachable, addresses(1)[0]: .reachable]
        let first = try #require(protocolState.peerExchange(for: &state, own: nil, connected: connected, now: now))
        guard case .extended(_, let body) = first else { throw Failure() }
        let added6 = Array("6:added618:".utf8) + (v6.compact ?? []) + Array("8:added6.f1:".utf8) + [0x10]
        #expect(Array(body.readableBytesView).firstRange(of: added6) != nil)
        connected[v6] = nil
        let next = try #require(
            protocolState.peerExchange(for: &state, own: nil, connected: connected, now: now + .seconds(61)))
        guard case .extended(_, let nextBody) = next else { throw Failure() }
        let dropped6 = Array("8:dropped618:".utf8) + (v6.compact ?? [])
        #expect(Array(nextBody.readableBytesView).firstRange(of: dropped6) != nil)
    }

    struct Failure: Error {}
}
