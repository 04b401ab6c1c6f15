import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// A v2 piece that fails its merkle check is settled block by block: its block hashes are asked of a
/// peer that has it, the sender of the bad block is banned and nobody else, the good blocks stay and
/// the bad one is fetched again and checked as it arrives; a peer whose block hashes lie is banned; a
/// question nobody answers in time falls back to smart ban. And the session answers block-layer
/// requests only for pieces it has.
@Suite(.timeLimit(.minutes(2))) struct SessionBlockHashTests {
    /// One connected peer: its key, outbox and address.
    struct Peer {
        let key: PeerKey
        let outbox: PeerOutbox
        let address: PeerAddress
    }

    /// A torrent of 32 KiB pieces (2 blocks), files of 1, 3, 4 and 7 blocks (see ``V2PieceRootsTests``).
    struct Fixture {
        let metainfo: Metainfo
        let stream: [UInt8]
        var core: SessionCore
        let hashing: PieceHashing

        init() async throws {
            let (metainfo, stream, _) = try V2PieceRootsTests.make(.v2)
            self.metainfo = metainfo
            self.stream = stream
            core = SessionHashRequestTests.core(metainfo)
            let storage = MemoryStorage(metainfo: metainfo)
            try await storage.prepare()
            hashing = PieceHashing(storage: storage, pieceHashes: nil, merkle: try V2PieceRoots(metainfo: metainfo))
        }

        /// A seed on `port` that has unchoked us.
        mutating func connect(port: UInt16) async throws -> Peer {
            let outbox = PeerOutbox(budget: PeerMemoryBudget())
            let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: port)
            let key = core.register(address: address, channel: EmbeddedChannel(), outbox: outbox)
            let handshake = PeerHandshake(
                infoHash: metainfo.infoHashes.wireHash, peerId: [UInt8](repeating: UInt8(port % 256), count: 20),
                reserved: [.fast, .extensionProtocol])
            try #require(core.handshakeReceived(handshake, from: key) == nil)
            var effects = SessionEffects()
            let bitfield = PeerBitfield.full(count: metainfo.pieceCount)
            _ = core.received(
                [.message(.bitfield(ByteBuffer(bytes: bitfield.bytes))), .message(.unchoke)], from: key, epoch: 1,
                effects: &effects)
            _ = try await SessionBlockHashTests.drain(outbox)
            return Peer(key: key, outbox: outbox, address: address)
        }

        /// Block `block` of `piece` as `peer` sends it (asked of it), its bytes inverted when `corrupt`.
        mutating func send(
            _ piece: Int, block: Int, from peer: Peer, corrupt: Bool = false, effects: inout SessionEffects
        ) -> [ReaderStep] {
            let request = PieceLayout(metainfo).request(piece: PieceIndex(piece), block: BlockIndex(block))
            let start = piece * metainfo.pieceLength + Int(request.begin)
            var bytes = Array(stream[start..<start + Int(request.length)])
            if corrupt { bytes = bytes.map { ~$0 } }
            // As though we had asked this peer for it (which peer the picker asks is not the point here).
            _ = core.swarm.peers[peer.key]?.machine.request(request, now: .now())
            let message = PeerMessage.piece(index: request.piece, begin: request.begin, block: ByteBuffer(bytes: bytes))
            return core.received([.message(message)], from: peer.key, epoch: 1, effects: &effects)
        }

        /// The true leaves of `piece`'s blocks, as a `hashes` message answering `request`.
        func honestAnswer(_ request: HashRequest, piece: Int) throws -> HashMessage {
            let roots = try #require(try V2PieceRoots(metainfo: metainfo))
            let shape = try #require(roots.shape(of: PieceIndex(piece)))
            let start = piece * metainfo.pieceLength
            let leaves = stream[start..<start + shape.dataLength].withUnsafeBytes {
                V2BlockLayerAnswer.leaves(of: $0, leafCount: Int(request.length))
            }
            return .hashes(request, hashes: leaves)
        }

        /// Stores the piece completed in `effects` as the session's actor would, and hands the outcome
        /// to the core.
        mutating func store(_ effects: SessionEffects) async throws -> SessionEffects {
            let stored = try #require(effects.store.first)
            let outcome = await hashing.store(stored.piece, from: stored.buffer, watched: stored.watched)
            var verdict = SessionEffects()
            core.pieceStored(stored.piece, stored.buffer, outcome, effects: &verdict)
            return verdict
        }
    }

    /// Everything queued for a peer so far (nothing when nothing is).
    static func drain(_ outbox: PeerOutbox) async throws -> [PeerWireFrame] {
        guard outbox.queuedBytes > 0, let batch = await outbox.next() else { return [] }
        outbox.written(batch)
        return batch.frames
    }

    /// The hash messages queued for a peer.
    static func hashMessages(_ outbox: PeerOutbox) async throws -> [HashMessage] {
        try await drain(outbox).compactMap { frame in
            guard case .message(.unknown(let id, let payload)) = frame, HashMessage.handles(id) else { return nil }
            return try HashMessage(id: id, payload: payload)
        }
    }

    /// A piece of 2 blocks, its block `bad` from B (wrong), the other from A (right); C sent nothing.
    /// Piece 5 is d.bin's first.
    static func failedPiece(
        _ piece: Int = 5, bad: Int = 1
    ) async throws -> (Fixture, Peer, Peer, Peer, HashRequest) {
        var fixture = try await Fixture()
        let a = try await fixture.connect(port: 6001)
        let b = try await fixture.connect(port: 6002)
        let c = try await fixture.connect(port: 6003)
        var effects = SessionEffects()
        _ = fixture.send(piece, block: 1 - bad, from: a, effects: &effects)
        _ = fixture.send(piece, block: bad, from: b, corrupt: true, effects: &effects)
        let verdict = try await fixture.store(effects)
        #expect(verdict.banned.isEmpty, "nobody is blamed before the block hashes are known")
        let request = try #require(fixture.core.hashServer?.blockHashRequest(for: PieceIndex(piece)))
        #expect(try await hashMessages(c.outbox) == [.request(request)], "a peer that sent none of it is asked")
        #expect(try await hashMessages(a.outbox).isEmpty)
        #expect(try await hashMessages(b.outbox).isEmpty)
        return (fixture, a, b, c, request)
    }

    @Test(arguments: [(5, 1), (5, 0)])
    func theSenderOfTheBadBlockIsBannedAndTheGoodBlockKept(piece: Int, bad: Int) async throws {
        var (fixture, a, b, c, request) = try await Self.failedPiece(piece, bad: bad)
        var effects = SessionEffects()
        let answer = try fixture.honestAnswer(request, piece: piece)
        let steps = fixture.core.received([.message(answer.peerMessage)], from: c.key, epoch: 1, effects: &effects)
        #expect(steps.isEmpty)
        #expect(effects.banned.map(\.address) == [b.address])
        #expect(fixture.core.swarm.candidates[a.address]?.banned != true)
        #expect((fixture.core.swarm.candidates[a.address]?.blame ?? 0) == 0, "the honest sender takes no blame")
        #expect(fixture.core.swarm.statistics.totals.wasted == 16_384, "one block wasted, not the piece")
        let states = try #require(fixture.core.swarm.picker.blockStates(of: PieceIndex(piece)))
        guard case .written = states[1 - bad], case .none = states[bad] else {
            Issue.record("the good block is not kept: \(states)")
            return
        }
        #expect(!fixture.core.swarm.picker.has(PieceIndex(piece)))

        // The bad block comes again: wrong from A, which is banned at once; right from C, written.
        var again = SessionEffects()
        let wrong = fixture.send(piece, block: bad, from: a, corrupt: true, effects: &again)
        guard case .disconnect = try #require(wrong.last) else {
            Issue.record("a wrong replacement is accepted: \(wrong)")
            return
        }
        #expect(again.banned.map(\.address) == [a.address])
        var right = SessionEffects()
        let written = fixture.send(piece, block: bad, from: c, effects: &right)
        guard case .write(let block, _) = try #require(written.first) else {
            Issue.record("the right replacement is not written to the files: \(written)")
            return
        }
        #expect(block.piece == PieceIndex(piece) && block.begin == UInt32(bad * 16_384))
        #expect(right.banned.isEmpty)
    }

    /// Piece 0 holds a.bin, one block, then a block of pad: the data block is the bad one, its sender
    /// banned without asking anyone; the pad block and its sender stay.
    @Test func aPieceWhoseDataIsOneBlockNeedsNoHashes() async throws {
        var fixture = try await Fixture()
        let a = try await fixture.connect(port: 6011)
        let b = try await fixture.connect(port: 6012)
        var effects = SessionEffects()
        _ = fixture.send(0, block: 1, from: a, effects: &effects)
        _ = fixture.send(0, block: 0, from: b, corrupt: true, effects: &effects)
        let verdict = try await fixture.store(effects)
        #expect(verdict.banned.map(\.address) == [b.address])
        #expect(try await Self.hashMessages(a.outbox).isEmpty, "nobody is asked")
        let states = try #require(fixture.core.swarm.picker.blockStates(of: PieceIndex(0)))
        guard case .none = states[0], case .written = states[1] else {
            Issue.record("only the data block is fetched again: \(states)")
            return
        }
        #expect(fixture.core.swarm.candidates[a.address]?.banned != true)
    }

    @Test func aPeerWhoseBlockHashesLieIsBannedAndTheNextIsAsked() async throws {
        var (fixture, a, b, c, request) = try await Self.failedPiece()
        var effects = SessionEffects()
        let lie = HashMessage.hashes(request, hashes: [UInt8](repeating: 5, count: Int(request.length) * 32))
        let steps = fixture.core.received([.message(lie.peerMessage)], from: c.key, epoch: 1, effects: &effects)
        guard case .disconnect = try #require(steps.last) else {
            Issue.record("the liar is not dropped: \(steps)")
            return
        }
        #expect(effects.banned.map(\.address) == [c.address])
        // Nobody else has the piece and did not send it: a sender is asked, the first connected.
        #expect(try await Self.hashMessages(a.outbox) == [.request(request)])
        var settled = SessionEffects()
        _ = fixture.core.received(
            [.message(try fixture.honestAnswer(request, piece: 5).peerMessage)], from: a.key, epoch: 1,
            effects: &settled)
        #expect(settled.banned.map(\.address) == [b.address])
    }

    @Test func aQuestionNobodyAnswersFallsBackToSmartBan() async throws {
        var (fixture, a, b, _, _) = try await Self.failedPiece()
        var effects = SessionEffects()
        fixture.core.tick(now: .now + V2BlockCheck.requestTimeout + .seconds(1), effects: &effects)
        #expect(effects.banned.isEmpty)
        #expect(fixture.core.verification.smartBan.isWatching(PieceIndex(5)))
        #expect(fixture.core.swarm.candidates[a.address]?.blame == 0.5)
        #expect(fixture.core.swarm.candidates[b.address]?.blame == 0.5)
        #expect(fixture.core.blockChecks.failed.isEmpty)
        let states = try #require(fixture.core.swarm.picker.blockStates(of: PieceIndex(5)))
        #expect(states.allSatisfy { if case .written = $0 { false } else { true } }, "the whole piece again")
        // A reject from a peer asked about nothing is ignored.
        var late = SessionEffects()
        let request = try #require(fixture.core.hashServer?.blockHashRequest(for: PieceIndex(5)))
        #expect(
            fixture.core.received(
                [.message(HashMessage.reject(request).peerMessage)], from: a.key, epoch: 1, effects: &late
            )
            .isEmpty)
    }

    /// A block-layer request over pieces we have goes to be read; over a piece we lack it is refused.
    @Test func blockLayerRequestsAreAnsweredOnlyForPiecesWeHave() async throws {
        var fixture = try await Fixture()
        let peer = try await fixture.connect(port: 6004)
        let request = try #require(fixture.core.hashServer?.blockHashRequest(for: PieceIndex(5)))
        var effects = SessionEffects()
        _ = fixture.core.received(
            [.message(HashMessage.request(request).peerMessage)], from: peer.key, epoch: 1, effects: &effects)
        #expect(effects.blockLayerReads.isEmpty)
        #expect(try await Self.hashMessages(peer.outbox) == [.reject(request)])

        fixture.core.swarm.picker.pieceVerified(PieceIndex(5))
        var reading = SessionEffects()
        _ = fixture.core.received(
            [.message(HashMessage.request(request).peerMessage)], from: peer.key, epoch: 1, effects: &reading)
        let read = try #require(reading.blockLayerReads.first)
        #expect(read.key == peer.key && read.plan.pieces == 5..<6)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        try await storage.prepare()
        try await storage.write(
            piece: PieceIndex(5), begin: 0,
            bytes: Array(fixture.stream[5 * 32_768..<6 * 32_768]))
        let hashing = PieceHashing(
            storage: storage, pieceHashes: nil, merkle: try V2PieceRoots(metainfo: fixture.metainfo))
        fixture.core.blockLayerRead(
            read.plan, leaves: .success(try await hashing.leaves(for: read.plan)), for: peer.key)
        #expect(try await Self.hashMessages(peer.outbox) == [try fixture.honestAnswer(request, piece: 5)])
    }
}
