import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// The session's wire-level decisions, without sockets: interest, request pipelines, blocks counted,
/// seeds, refused requests, verified pieces announced, closed peers forgotten and timeouts.
@Suite(.timeLimit(.minutes(5))) struct SessionSwarmTests {
    /// Four pieces of two blocks each.
    static let layout = PieceLayout(pieceLength: 32_768, totalLength: 4 * 32_768)

    static func swarm() -> SessionSwarm {
        SessionSwarm(
            picker: PiecePicker(layout: layout),
            candidates: PeerCandidateTable(limits: .init(SessionConfiguration())),
            statistics: TransferStatistics(start: .now))
    }

    /// Admits a handshaken peer on port `port` (Fast extension on) and returns its key and outbox.
    static func admit(
        _ swarm: inout SessionSwarm, port: UInt16, channel: EmbeddedChannel = EmbeddedChannel(),
        handshaken: Bool = true, at now: ContinuousClock.Instant = .now
    ) -> (PeerKey, PeerOutbox) {
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: port)
        swarm.candidates.add([address], source: .manual, notBefore: now)
        swarm.candidates.connected(address)
        let key = swarm.peers.admit { key in
            var slot = PeerSlot(
                key: key, address: address, source: .manual, channel: channel, outbox: outbox, connectedAt: now,
                machine: PeerConnectionStateMachine(
                    configuration: .init(
                        pieceCount: layout.pieceCount, pieceLength: UInt32(layout.pieceLength), fastExtension: true)),
                lastMessageAt: now, lastKeepAliveSent: now)
            slot.handshaken = handshaken
            return slot
        }
        return (key, outbox)
    }

    /// What was queued for the peer so far.
    static func sent(_ outbox: PeerOutbox) async -> [PeerMessage] {
        // A writer that waits gets `nil` once the outbox closes: close only after taking what is queued.
        let pending = outbox.queuedBytes > 0 ? await outbox.next() : nil
        return (pending?.frames ?? []).compactMap { frame in
            if case .message(let message) = frame { return message }
            return nil
        }
    }

    static func bitfield(_ pattern: String) -> ByteBuffer {
        ByteBuffer(bytes: Bitfield(pattern: pattern)!.bytes)
    }

    @Test func aPeerWithWantedPiecesIsAskedOnceItUnchokes() async throws {
        var swarm = Self.swarm()
        let (key, outbox) = Self.admit(&swarm, port: 1)
        guard case .none = swarm.received(.bitfield(Self.bitfield("0110")), from: key, now: .now) else {
            Issue.record("a bitfield needs nothing of the session")
            return
        }
        #expect(await Self.sent(outbox) == [.interested])
        _ = swarm.received(.unchoke, from: key, now: .now)
        swarm.fillRequests(key, limits: TransferLimits())
        let requests = await Self.sent(outbox).compactMap { message -> BlockRequest? in
            if case .request(let request) = message { return request }
            return nil
        }
        // Only from the pieces it has: two pieces of two blocks.
        #expect(requests.count == 4)
        #expect(Set(requests.map(\.piece)) == [PieceIndex(1), PieceIndex(2)])
    }

    @Test func requestedBlocksAreCountedAndHandedOnAndUnaskedOnesWasted() async throws {
        var swarm = Self.swarm()
        let (key, outbox) = Self.admit(&swarm, port: 1)
        _ = swarm.received(.haveAll, from: key, now: .now)
        _ = swarm.received(.unchoke, from: key, now: .now)
        swarm.fillRequests(key, limits: TransferLimits())
        _ = await Self.sent(outbox)
        let request = try #require(swarm.peers[key]?.machine.outstandingRequests.first)
        let block = ByteBuffer(repeating: 1, count: Int(request.length))
        let piece = PeerMessage.piece(index: request.piece, begin: request.begin, block: block)
        guard case .block(let handed, let bytes) = swarm.received(piece, from: key, now: .now) else {
            Issue.record("a requested block goes to the session")
            return
        }
        #expect(handed == request && bytes.readableBytes == 16_384)
        #expect(swarm.statistics.totals.downloaded == 16_384 && swarm.statistics.totals.wasted == 0)
        #expect(swarm.peers[key]?.downloadedUnsaved == 16_384)
        // The same block again was not asked for: the state machine refuses it as a protocol violation
        // or the picker as a duplicate; either way nothing goes to the assembly.
        if case .block = swarm.received(piece, from: key, now: .now) {
            Issue.record("a block sent twice was handed on twice")
        }
    }

    @Test func aSeedMeetingASeedIsDropped() {
        var swarm = Self.swarm()
        for piece in 0..<4 { _ = swarm.picker.pieceVerified(PieceIndex(piece)) }
        #expect(swarm.picker.isComplete)
        let (key, _) = Self.admit(&swarm, port: 1)
        guard case .end(.disconnect(let why)) = swarm.received(.haveAll, from: key, now: .now) else {
            Issue.record("two seeds stay connected")
            return
        }
        #expect(why == "both seeds")
        #expect(swarm.candidates[PeerAddress(host: .ipv4(127, 0, 0, 1), port: 1)]?.isSeed == true)
        // Its slot leaves as a handshaken peer (its record goes to the history), counted as a seed once.
        let slot = swarm.remove(key, now: .now)
        #expect(slot?.handshaken == true)
        #expect(swarm.picker.seedCount == 0)
    }

    /// A leecher that finishes its download from us (its last `have`) is dropped as a seed, and its
    /// record still carries what we uploaded to it.
    @Test func aLeecherThatBecomesASeedKeepsItsRecord() {
        var swarm = Self.swarm()
        for piece in 0..<4 { _ = swarm.picker.pieceVerified(PieceIndex(piece)) }
        let (key, _) = Self.admit(&swarm, port: 1)
        swarm.peers[key]?.upload.uploadedUnsaved = 65_536
        for piece in 0..<3 {
            guard case .none = swarm.received(.have(PieceIndex(piece)), from: key, now: .now) else {
                Issue.record("a have of piece \(piece) ended the peer")
                return
            }
        }
        guard case .end(.disconnect("both seeds")) = swarm.received(.have(PieceIndex(3)), from: key, now: .now)
        else {
            Issue.record("a leecher that became a seed stays connected to a seed")
            return
        }
        let slot = swarm.remove(key, now: .now)
        #expect(slot?.handshaken == true)
        #expect(slot?.record(torrentId: 1).uploadedDelta == 65_536)
        #expect(swarm.picker.seedCount == 0)
        #expect((0..<4).allSatisfy { swarm.picker.availability(of: PieceIndex($0)) == 0 })
    }

    @Test func aRequestForAPieceWeLackIsRejected() async {
        var swarm = Self.swarm()
        let (key, outbox) = Self.admit(&swarm, port: 1)
        let request = BlockRequest(piece: PieceIndex(0), begin: 0, length: 16_384)
        _ = swarm.received(.interested, from: key, now: .now)
        _ = swarm.received(.request(request), from: key, now: .now)
        #expect(await Self.sent(outbox) == [.rejectRequest(request)])
        #expect(swarm.peers[key]?.machine.peerRequests.isEmpty == true)
    }

    @Test func aVerifiedPieceIsAnnouncedAndItsSenderCredited() async throws {
        var swarm = Self.swarm()
        let (sender, senderOutbox) = Self.admit(&swarm, port: 1)
        let (_, otherOutbox) = Self.admit(&swarm, port: 2)
        let (_, strangerOutbox) = Self.admit(&swarm, port: 3, handshaken: false)
        _ = swarm.received(.haveAll, from: sender, now: .now)
        _ = swarm.received(.unchoke, from: sender, now: .now)
        swarm.fillRequests(sender, limits: TransferLimits())
        _ = await Self.sent(senderOutbox)
        let piece = try #require(swarm.peers[sender]?.machine.outstandingRequests.first?.piece)
        for request in Self.layout.requests(in: piece) {
            let block = ByteBuffer(repeating: 2, count: Int(request.length))
            _ = swarm.received(.piece(index: piece, begin: request.begin, block: block), from: sender, now: .now)
        }
        let queuedToTheSeed = senderOutbox.queuedBytes
        swarm.piecePassed(piece)
        #expect(swarm.picker.has(piece))
        #expect(swarm.candidates[PeerAddress(host: .ipv4(127, 0, 0, 1), port: 1)]?.piecesPassed == 1)
        #expect(await Self.sent(otherOutbox) == [.have(piece)])
        #expect(await Self.sent(strangerOutbox) == [])
        #expect(senderOutbox.queuedBytes == queuedToTheSeed, "a seed has every piece: no have")
    }

    @Test func aClosedPeerTakesItsAvailabilityAndItsRequestsWithIt() async throws {
        var swarm = Self.swarm()
        let (key, outbox) = Self.admit(&swarm, port: 1)
        _ = swarm.received(.bitfield(Self.bitfield("1100")), from: key, now: .now)
        _ = swarm.received(.unchoke, from: key, now: .now)
        swarm.fillRequests(key, limits: TransferLimits())
        _ = await Self.sent(outbox)
        #expect(swarm.picker.availability(of: PieceIndex(0)) == 1)
        let removed = swarm.remove(key, now: .now)
        let again = swarm.remove(key, now: .now)
        #expect(removed?.address.port == 1 && swarm.peers.isEmpty && again == nil)
        #expect(swarm.picker.availability(of: PieceIndex(0)) == 0)
        // Its blocks may be asked of the next peer.
        let (next, nextOutbox) = Self.admit(&swarm, port: 2)
        _ = swarm.received(.bitfield(Self.bitfield("1100")), from: next, now: .now)
        _ = swarm.received(.unchoke, from: next, now: .now)
        swarm.fillRequests(next, limits: TransferLimits())
        #expect(await Self.sent(nextOutbox).filter { if case .request = $0 { true } else { false } }.count == 4)
    }

    @Test func upkeepClosesSlowHandshakesAndKeepsQuietPeersAlive() async throws {
        var swarm = Self.swarm()
        let start = ContinuousClock.now
        let configuration = SessionConfiguration()
        let slowChannel = EmbeddedChannel()
        try await slowChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        _ = Self.admit(&swarm, port: 1, channel: slowChannel, handshaken: false, at: start)
        let (quiet, quietOutbox) = Self.admit(&swarm, port: 2, at: start)
        // Past the handshake timeout, within the inactivity timeout, past 90 s of our silence.
        let later = start + max(configuration.handshakeTimeout, .seconds(90)) + .seconds(1)
        #expect(later - start < configuration.inactivityTimeout)
        swarm.peers[quiet]?.lastMessageAt = later
        #expect(slowChannel.isActive)
        swarm.upkeep(now: later, configuration: configuration)
        #expect(!slowChannel.isActive)
        #expect(await Self.sent(quietOutbox) == [.keepAlive])
    }

    @Test func aHandshakeIsCheckedBeforeThePeerJoins() async {
        var swarm = Self.swarm()
        _ = swarm.picker.pieceVerified(PieceIndex(1))
        let own = [UInt8](repeating: 9, count: 20)
        let liar = [UInt8](repeating: 6, count: 20)
        let infoHash = [UInt8](repeating: 1, count: 20)
        let rules = SessionSwarm.HandshakeRules(
            infoHash: infoHash, ownPeerId: own, bannedPeerIds: [liar], maxPeerRequests: 250)
        func connect(_ port: UInt16) -> (PeerKey, PeerOutbox) {
            let outbox = PeerOutbox(budget: PeerMemoryBudget())
            let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: port)
            swarm.candidates.add([address], source: .tracker, notBefore: .now)
            let key = swarm.register(
                address: address, channel: EmbeddedChannel(), outbox: outbox, source: nil, now: .now)
            return (key, outbox)
        }
        func handshake(_ peerId: [UInt8], infoHash: [UInt8] = infoHash) -> PeerHandshake {
            PeerHandshake(infoHash: infoHash, peerId: peerId, reserved: [.fast, .extensionProtocol])
        }

        let (wrong, _) = connect(1)
        let other = [UInt8](repeating: 2, count: 20)
        #expect(
            swarm.handshakeReceived(handshake(other, infoHash: other), from: wrong, rules: rules, now: .now)
                == "wrong info-hash")
        let (mirror, _) = connect(2)
        #expect(
            swarm.handshakeReceived(handshake(own), from: mirror, rules: rules, now: .now) == "connected to ourselves")
        #expect(swarm.candidates[PeerAddress(host: .ipv4(127, 0, 0, 1), port: 2)]?.banned == true)
        let (banned, _) = connect(3)
        #expect(swarm.handshakeReceived(handshake(liar), from: banned, rules: rules, now: .now) == "banned peer id")

        let (first, firstOutbox) = connect(4)
        #expect(swarm.peers[first]?.source == .tracker && swarm.peers[first]?.handshaken == false)
        #expect(swarm.handshakeReceived(handshake(other), from: first, rules: rules, now: .now) == nil)
        let slot = swarm.peers[first]
        #expect(slot?.handshaken == true && slot?.peerId == other)
        #expect(slot?.machine.configuration.fastExtension == true)
        #expect(slot?.machine.configuration.extensionProtocol == true)
        #expect(slot?.machine.configuration.maxPeerRequests == 250)
        // Our availability: piece 1 of 4, as a bitfield.
        #expect(await Self.sent(firstOutbox) == [.bitfield(Self.bitfield("0100"))])
        let (second, _) = connect(5)
        #expect(
            swarm.handshakeReceived(handshake(other), from: second, rules: rules, now: .now)
                == "already connected to this peer")
    }

    @Test func aDownloadLimitKeepsAboutHalfASecondInFlight() {
        #expect(SessionSwarm.limitedDepth(200, rate: 0) == 200)
        #expect(SessionSwarm.limitedDepth(200, rate: 1 << 20) == 32)
        #expect(SessionSwarm.limitedDepth(200, rate: 1_000) == 4)
    }
}
