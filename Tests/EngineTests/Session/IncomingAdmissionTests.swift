import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Engine

extension IncomingAdmission {
    /// Admits a connection that nothing closes: for the tests that count without sockets (those of a
    /// displacement give their own `close`).
    fileprivate func admit(_ host: PeerAddress.Host, now: ContinuousClock.Instant = .now) throws(Refusal) -> Ticket {
        try admit(host, now: now, close: {})
    }
}

/// Who may connect and for how long they may say nothing: the per-address and half-open limits of the
/// listening socket (counted as values, then over real 127.0.0.x sockets against a ``PeerListener``),
/// and the handshake timeout of incoming and outgoing connections. Every wait has a deadline.
@Suite(.timeLimit(.minutes(5))) struct IncomingAdmissionTests {
    static let local = PeerAddress.Host.ipv4(127, 0, 0, 1)
    static let other = PeerAddress.Host.ipv4(127, 0, 0, 2)

    @Test func countsPerAddressAndPending() throws {
        let admission = IncomingAdmission(limits: .init(maxPending: 3, maxPerAddress: 2))
        let first = try admission.admit(Self.local)
        let second = try admission.admit(Self.local)
        #expect(throws: IncomingAdmission.Refusal.tooManyFromAddress(limit: 2)) { try admission.admit(Self.local) }
        let third = try admission.admit(Self.other)
        #expect(admission.pending == 3)
        #expect(throws: IncomingAdmission.Refusal.tooManyPending(limit: 3)) { try admission.admit(Self.other) }
        // A handshake frees its pending place, not its address's.
        admission.handshakeReceived(first)
        admission.handshakeReceived(first)
        #expect(admission.pending == 2)
        #expect(throws: IncomingAdmission.Refusal.tooManyFromAddress(limit: 2)) { try admission.admit(Self.local) }
        let fourth = try admission.admit(Self.other)
        // Closing frees both, once.
        admission.closed(first)
        admission.closed(first)
        admission.closed(second)
        #expect(admission.connections(from: Self.local) == 0 && admission.connections(from: Self.other) == 2)
        #expect(admission.pending == 2)
        admission.closed(third)
        admission.closed(fourth)
        #expect(admission.pending == 0 && admission.addressCount == 0)
    }

    /// The rule of a displacement, counted: only an address holding at least two fewer places than the
    /// address holding the most takes one, the oldest of that address, whose `close` is called once and
    /// whose later release counts nothing; addresses holding as many each cannot churn each other.
    @Test func aDisplacementTakesTheOldestOfTheAddressHoldingMost() throws {
        var limits = IncomingAdmission.Limits(maxPending: 6, maxPerAddress: 8)
        limits.maxPendingPerAddress = 4
        let admission = IncomingAdmission(limits: limits)
        let closes = Mutex([Int]())
        let hosts = (2...4).map { PeerAddress.Host.ipv4(127, 0, 0, UInt8($0)) }
        var tickets: [IncomingAdmission.Ticket] = []
        // Four from .2, then two from .3: every place taken.
        for (index, host) in [0, 0, 0, 0, 1, 1].map({ hosts[$0] }).enumerated() {
            tickets.append(try admission.admit(host, close: { closes.withLock { $0.append(index) } }))
        }
        #expect(admission.pending == 6)
        // .4 holds none, .2 holds four: .2's oldest (the first) makes room.
        let newcomer = try admission.admit(hosts[2], close: {})
        #expect(closes.withLock { $0 } == [0] && admission.displacedCount == 1)
        #expect(admission.pending == 6 && admission.connections(from: hosts[0]) == 3)
        // .3 holds two, .2 three: not two fewer, so refused, and nobody closed.
        #expect(throws: IncomingAdmission.Refusal.tooManyPending(limit: 6)) { try admission.admit(hosts[1]) }
        // .4 holds one, .2 three: .2's next oldest goes.
        let second = try admission.admit(hosts[2], close: {})
        #expect(closes.withLock { $0 } == [0, 1] && admission.displacedCount == 2)
        // Now .2, .3 and .4 hold two each: no one displaces anyone.
        for host in hosts {
            #expect(throws: IncomingAdmission.Refusal.tooManyPending(limit: 6)) { try admission.admit(host) }
        }
        // The displaced ones' own release, handshake or close, counts nothing more.
        admission.handshakeReceived(tickets[0])
        admission.closed(tickets[0])
        admission.closed(tickets[1])
        #expect(admission.pending == 6 && admission.connections(from: hosts[0]) == 2)
        for ticket in tickets.dropFirst(2) + [newcomer, second] { admission.closed(ticket) }
        #expect(admission.pending == 0 && admission.addressCount == 0)
        #expect(closes.withLock { $0 } == [0, 1])
    }

    /// One address may hold many connections that did their handshake (one per torrent), but only a few
    /// that have not sent it yet.
    @Test func fewSilentConnectionsPerAddressManyHandshaken() throws {
        var limits = IncomingAdmission.Limits(maxPending: 64, maxPerAddress: 6)
        limits.maxPendingPerAddress = 2
        let admission = IncomingAdmission(limits: limits)
        var tickets = [try admission.admit(Self.local), try admission.admit(Self.local)]
        #expect(throws: IncomingAdmission.Refusal.tooManyPendingFromAddress(limit: 2)) {
            try admission.admit(Self.local)
        }
        let elsewhere = try admission.admit(Self.other)
        for ticket in tickets { admission.handshakeReceived(ticket) }
        for _ in 0..<4 {
            let ticket = try admission.admit(Self.local)
            admission.handshakeReceived(ticket)
            tickets.append(ticket)
        }
        #expect(admission.connections(from: Self.local) == 6 && admission.pending == 1)
        #expect(throws: IncomingAdmission.Refusal.tooManyFromAddress(limit: 6)) { try admission.admit(Self.local) }
        // A silent connection that closes frees its pending place too.
        admission.closed(tickets.removeLast())
        let silent = try admission.admit(Self.local)
        admission.closed(silent)
        for ticket in tickets + [elsewhere] { admission.closed(ticket) }
        #expect(admission.pending == 0 && admission.addressCount == 0)
        #expect(try admission.admit(Self.local).host == Self.local)
    }

    /// An IPv6 /64 counts as one address, for the per-address limit and for penalties; another /64 does not.
    @Test func anIPv6Slash64CountsAsOneAddress() throws {
        let admission = IncomingAdmission(limits: .init(maxPending: 8, maxPerAddress: 2))
        func host(_ prefix: UInt8, _ last: UInt8) -> PeerAddress.Host {
            .ipv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, prefix] + [UInt8](repeating: 0, count: 7) + [last])
        }
        let first = try admission.admit(host(1, 1))
        let second = try admission.admit(host(1, 2))
        #expect(throws: IncomingAdmission.Refusal.tooManyFromAddress(limit: 2)) { try admission.admit(host(1, 3)) }
        #expect(admission.connections(from: host(1, 9)) == 2)
        let elsewhere = try admission.admit(host(2, 1))
        admission.penalize(host(2, 7))
        #expect(throws: IncomingAdmission.Refusal.penalized) { try admission.admit(host(2, 8)) }
        for ticket in [first, second, elsewhere] { admission.closed(ticket) }
        #expect(admission.addressCount == 0)
    }

    @Test func aPenalizedAddressIsRefusedUntilItsPenaltyEnds() throws {
        var limits = IncomingAdmission.Limits(maxPending: 8, maxPerAddress: 8)
        limits.penalty = .seconds(60)
        let admission = IncomingAdmission(limits: limits)
        let start = ContinuousClock.now
        admission.penalize(Self.other, now: start)
        #expect(throws: IncomingAdmission.Refusal.penalized) {
            try admission.admit(Self.other, now: start + .seconds(59))
        }
        let neighbour = try admission.admit(Self.local, now: start)
        #expect(admission.pending == 1, "a refusal counts nothing")
        let forgiven = try admission.admit(Self.other, now: start + .seconds(61))
        #expect(admission.penalizedCount == 0)
        admission.closed(neighbour)
        admission.closed(forgiven)
    }

    @Test func thePenaltyTableIsBoundedAndForgivesTheEarliestEnd() throws {
        var limits = IncomingAdmission.Limits(maxPending: 8, maxPerAddress: 8)
        limits.maxPenalized = 3
        let admission = IncomingAdmission(limits: limits)
        let start = ContinuousClock.now
        let hosts = (1...4).map { PeerAddress.Host.ipv4(10, 0, 0, UInt8($0)) }
        for (offset, host) in hosts.enumerated() {
            admission.penalize(host, now: start + .seconds(offset))
        }
        #expect(admission.penalizedCount == 3)
        // The first one penalized (its penalty ended first) was forgiven to make room.
        admission.closed(try admission.admit(hosts[0], now: start + .seconds(5)))
        for host in hosts.dropFirst() {
            #expect(throws: IncomingAdmission.Refusal.penalized) { try admission.admit(host, now: start + .seconds(5)) }
        }
    }

    @Test func aPeerDroppedForAFloodIsRefusedForAWhile() async throws {
        let harness = try await Harness.start()
        let flooder = try await harness.admittedClient(0, from: "127.0.0.2")
        // `have` for the same piece over and over: past the limit of repeated haves, a violation.
        let have: [UInt8] = [0, 0, 0, 5, 4, 0, 0, 0, 0]
        let limit = PeerConnectionStateMachine.Configuration(pieceCount: 1, pieceLength: 1).maxRedundantHaves
        try await flooder.send(Array([[UInt8]](repeating: have, count: limit + 2).joined()))
        try await SessionExtensionTests.waitUntil("the flooder dropped") { flooder.isClosed }
        try await SessionExtensionTests.waitUntil("its address penalized") {
            harness.listener.admission.penalizedCount == 1
        }
        // It comes back at once: closed as soon as accepted, before any handshake.
        let again = try await RawPeerClient(port: harness.listener.port, from: "127.0.0.2")
        try await SessionExtensionTests.waitUntil("the flooder's new connection closed") { again.isClosed }
        #expect(again.received == 0)
        // Other addresses are served as before.
        let honest = try await harness.admittedClient(0)
        await honest.close()
        await harness.stop()
    }

    @Test func aPeerAskingForTheMetadataOverAndOverIsDroppedAndRefused() async throws {
        let harness = try await Harness.start()
        let client = try await RawPeerClient(port: harness.listener.port, from: "127.0.0.3")
        var opening = ByteBuffer()
        var handshake = harness.handshake(0)
        handshake[25] |= 0x10  // the extension protocol (BEP 10)
        opening.writeBytes(handshake)
        let theirs = ExtensionHandshake(extensions: [ExtensionHandshake.utMetadata: 3])
        opening.writePeerMessage(.extended(id: 0, payload: ByteBuffer(bytes: theirs.encoded())))
        try await client.send(Array(opening.readableBytesView))
        // Admitted (answered), not refused at the door. Waited for before the flood: a peer dropped
        // right after its admission may be closed before the answer went out.
        try await SessionExtensionTests.waitUntil("an answer to the handshake") { client.answered || client.isClosed }
        #expect(client.answered, "the handshake was answered")
        // The fixture's info dictionary is one metadata piece: the limit is 4 x 1 + 16 requests.
        let session = harness.sessions[0]
        let limit = await session.core.extensionProtocol.maxMetadataRequests
        var flood = ByteBuffer()
        let request = ByteBuffer(bytes: MetadataMessage.request(piece: 0).encoded())
        for _ in 0...limit { flood.writePeerMessage(.extended(id: LocalExtensionID.metadata, payload: request)) }
        try await client.send(Array(flood.readableBytesView))
        try await SessionExtensionTests.waitUntil("the metadata flooder dropped") { client.isClosed }
        try await SessionExtensionTests.waitUntil("its address penalized") {
            harness.listener.admission.penalizedCount == 1
        }
        await harness.stop()
    }

    @Test func aPeerThatBecomesASeedThroughHavesLeavesASeedWithoutPenalty() async throws {
        let harness = try await Harness.start()
        let client = try await harness.admittedClient(0, from: "127.0.0.4")
        let pieces = harness.fixtures[0].metainfo.pieceCount
        var messages = ByteBuffer()
        messages.writePeerMessage(.bitfield(ByteBuffer(bytes: [UInt8](repeating: 0, count: (pieces + 7) / 8))))
        for piece in 0..<pieces - 1 { messages.writePeerMessage(.have(PieceIndex(piece))) }
        try await client.send(Array(messages.readableBytesView))
        // All but one piece: still a leecher, still served.
        try await SessionExtensionTests.waitUntil("the session to count its pieces") {
            await harness.sessions[0].core.swarm.peers.values.contains {
                $0.machine.peerPieces.cardinality == pieces - 1
            }
        }
        #expect(!client.isClosed)
        var last = ByteBuffer()
        last.writePeerMessage(.have(PieceIndex(pieces - 1)))
        try await client.send(Array(last.readableBytesView))
        try await SessionExtensionTests.waitUntil("two seeds to part") { client.isClosed }
        #expect(harness.listener.admission.penalizedCount == 0, "having every piece breaks no rule")
        await harness.stop()
    }

    /// Seed sessions of several torrents behind one listener with the given limits.
    struct Harness {
        let listener: PeerListener
        let fixtures: [SessionFixture]
        let sessions: [TorrentSession]
        let runs: [Task<TorrentSession.Outcome, Never>]

        static func start(
            torrents: Int = 1, handshakeTimeout: Duration = .seconds(600), maxPending: Int = 64,
            maxPerAddress: Int = PeerListener.defaultMaxPerAddress
        ) async throws -> Harness {
            let registry = SessionRegistry()
            let listener = try await PeerListener.bind(
                host: "127.0.0.1", port: 0, registry: registry, handshakeTimeout: handshakeTimeout,
                maxPending: maxPending, maxPerAddress: maxPerAddress)
            Task { await listener.run() }
            var configuration = TorrentSessionTests.quickConfiguration()
            configuration.listenPort = listener.port
            var fixtures: [SessionFixture] = []
            var sessions: [TorrentSession] = []
            var runs: [Task<TorrentSession.Outcome, Never>] = []
            for index in 0..<torrents {
                let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 60 + UInt64(index))
                let session = TorrentSession(
                    metainfo: fixture.metainfo, storage: try await fixture.filledStorage(),
                    configuration: configuration, stopWhenComplete: false)
                registry.add(session)
                runs.append(Task { await session.run() })
                try await SessionExtensionTests.waitUntil("the seed session to check its data") {
                    await session.core.uploads.acceptingIncoming
                }
                fixtures.append(fixture)
                sessions.append(session)
            }
            return Harness(listener: listener, fixtures: fixtures, sessions: sessions, runs: runs)
        }

        func handshake(_ torrent: Int) -> [UInt8] {
            RawPeerClient.handshake(fixtures[torrent].metainfo.infoHashes.wireHash)
        }

        /// A client from `host` that sent a handshake for `torrent` and was answered.
        func admittedClient(_ torrent: Int, from host: String = "127.0.0.1") async throws -> RawPeerClient {
            let client = try await RawPeerClient(port: listener.port, from: host)
            try await client.send(handshake(torrent))
            try await SessionExtensionTests.waitUntil("an answer to a handshake from \(host)") {
                client.answered || client.isClosed
            }
            #expect(client.answered && !client.isClosed, "a connection within the limits is served")
            return client
        }

        func stop() async {
            for session in sessions { await session.stop() }
            for run in runs { _ = await run.value }
            listener.close()
        }
    }

    @Test func oneAddressHoldsAtMostItsLimitAcrossTorrents() async throws {
        let harness = try await Harness.start(torrents: 2, maxPerAddress: 2)
        let first = try await harness.admittedClient(0)
        let second = try await harness.admittedClient(1)
        // A third connection from 127.0.0.1 is closed at once, whatever torrent it would name; the
        // handshake timeout (10 minutes here) is not what closes it.
        let third = try await RawPeerClient(port: harness.listener.port)
        try await SessionExtensionTests.waitUntil("the third connection from one address closed") {
            third.isClosed
        }
        #expect(third.isClosed && third.received == 0)
        #expect(!first.isClosed && !second.isClosed, "the admitted connections go on")
        // Another address has its own count.
        let stranger = try await harness.admittedClient(0, from: "127.0.0.2")
        // Once one connection ends, the address may connect again.
        await first.close()
        try await SessionExtensionTests.waitUntil("the listener to count the closed connection") {
            harness.listener.admission.connections(from: Self.local) == 1
        }
        let again = try await harness.admittedClient(1)
        for client in [second, stranger, again] { await client.close() }
        await harness.stop()
    }

    /// With the default limits, one client downloading a dozen torrents from us at once (a connection
    /// each, all from one address) is served; silent connections from that address are still few.
    @Test func oneClientDownloadingManyTorrentsIsServedButItsSilentConnectionsAreFew() async throws {
        let harness = try await Harness.start(torrents: 12)
        var clients: [RawPeerClient] = []
        for torrent in 0..<12 { clients.append(try await harness.admittedClient(torrent)) }
        var silent: [RawPeerClient] = []
        for _ in 0..<PeerListener.defaultMaxPendingPerAddress {
            silent.append(try await RawPeerClient(port: harness.listener.port))
        }
        try await SessionExtensionTests.waitUntil("the silent connections counted") {
            harness.listener.admission.pending == PeerListener.defaultMaxPendingPerAddress
        }
        let oneTooMany = try await RawPeerClient(port: harness.listener.port)
        try await SessionExtensionTests.waitUntil("one silent connection too many closed") { oneTooMany.isClosed }
        #expect(oneTooMany.received == 0)
        #expect(clients.allSatisfy { !$0.isClosed } && silent.allSatisfy { !$0.isClosed })
        for client in clients + silent { await client.close() }
        await harness.stop()
    }

    @Test func halfAHandshakeIsClosedAfterTheTimeout() async throws {
        let harness = try await Harness.start(handshakeTimeout: .seconds(1), maxPending: 1)
        let slow = try await RawPeerClient(port: harness.listener.port)
        try await slow.send(Array(harness.handshake(0).prefix(30)))
        try await SessionExtensionTests.waitUntil("half a handshake closed") { slow.isClosed }
        #expect(slow.isClosed && slow.received == 0)
        // It no longer counts, neither as pending nor for its address.
        try await SessionExtensionTests.waitUntil("the connection released") {
            harness.listener.admission.pending == 0 && harness.listener.admission.addressCount == 0
        }
        await harness.stop()
    }

    @Test func connectionsWaitingForTheirHandshakeAreCapped() async throws {
        let harness = try await Harness.start(maxPending: 2)
        let silent = [
            try await RawPeerClient(port: harness.listener.port), try await RawPeerClient(port: harness.listener.port),
        ]
        try await SessionExtensionTests.waitUntil("two pending connections") {
            harness.listener.admission.pending == 2
        }
        // From the same address: closed, nothing displaced.
        let extra = try await RawPeerClient(port: harness.listener.port)
        try await SessionExtensionTests.waitUntil("the third pending connection closed") {
            extra.isClosed
        }
        #expect(extra.isClosed && !silent[0].isClosed && !silent[1].isClosed)
        #expect(harness.listener.admission.displacedCount == 0)
        // One of them sends its handshake: it is served, and its pending place goes to a newcomer.
        try await silent[0].send(harness.handshake(0))
        try await SessionExtensionTests.waitUntil("an answer to the late handshake") {
            silent[0].answered
        }
        try await SessionExtensionTests.waitUntil("one pending connection") {
            harness.listener.admission.pending == 1
        }
        let newcomer = try await harness.admittedClient(0)
        for client in silent + [newcomer] { await client.close() }
        await harness.stop()
    }

    /// While every place for a handshake is held by one address's silent connections, a peer from
    /// another address gets in on its first try: the oldest silent connection is closed for it.
    @Test func aNewcomerDisplacesTheOldestSilentConnectionOfTheAddressHoldingMost() async throws {
        let harness = try await Harness.start(maxPending: 4)
        var silent: [RawPeerClient] = []
        for index in 0..<4 {
            silent.append(try await RawPeerClient(port: harness.listener.port, from: "127.0.0.5"))
            try await SessionExtensionTests.waitUntil("\(index + 1) pending connections") {
                harness.listener.admission.pending == index + 1
            }
        }
        let honest = try await harness.admittedClient(0)
        try await SessionExtensionTests.waitUntil("the oldest silent connection closed") { silent[0].isClosed }
        #expect(silent[0].received == 0)
        #expect(silent.dropFirst().allSatisfy { !$0.isClosed }, "only the oldest makes room")
        #expect(harness.listener.admission.displacedCount == 1)
        // The honest peer's handshake freed its place: the silent address takes it back, and one more
        // from it is refused (it holds the most, there is nobody to displace but its own).
        try await SessionExtensionTests.waitUntil("the honest connection no longer pending") {
            harness.listener.admission.pending == 3
        }
        let back = try await RawPeerClient(port: harness.listener.port, from: "127.0.0.5")
        try await SessionExtensionTests.waitUntil("the freed place taken") { harness.listener.admission.pending == 4 }
        let more = try await RawPeerClient(port: harness.listener.port, from: "127.0.0.5")
        try await SessionExtensionTests.waitUntil("one more silent connection closed") { more.isClosed }
        #expect(!back.isClosed && harness.listener.admission.displacedCount == 1)
        #expect(!honest.isClosed, "the honest connection is served")
        silent.append(back)
        for client in silent + [honest] { await client.close() }
        await harness.stop()
    }
}
