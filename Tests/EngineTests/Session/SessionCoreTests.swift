import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// A torrent's decisions without sockets or disks: what a peer's messages, a stored piece, a hash
/// verdict and an incoming handshake do, and what the session's actor is left to carry out.
@Suite(.timeLimit(.minutes(1))) struct SessionCoreTests {
    /// Two pieces of two blocks each.
    static let fixture = SessionFixture(length: 2 * 32_768, pieceLength: 32_768, seed: 11)
    static let peerId = [UInt8](repeating: 7, count: 20)

    static func core(_ configuration: SessionConfiguration = SessionConfiguration(listenPort: 1)) -> SessionCore {
        let layout = PieceLayout(pieceLength: 32_768, totalLength: 2 * 32_768)
        return SessionCore(
            metainfo: fixture.metainfo, layout: layout, filePriorities: [], configuration: configuration,
            limits: TransferLimits(), logger: Logger(label: "test"))
    }

    /// Registers a peer on `port` and has it pass the handshake (Fast and extension protocol on).
    static func connect(
        _ core: inout SessionCore, port: UInt16, peerId: [UInt8] = peerId
    ) throws -> (PeerKey, PeerOutbox, PeerAddress) {
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: port)
        let key = core.register(address: address, channel: EmbeddedChannel(), outbox: outbox)
        let handshake = PeerHandshake(
            infoHash: fixture.metainfo.infoHashes.wireHash, peerId: peerId, reserved: [.fast, .extensionProtocol])
        let problem = core.handshakeReceived(handshake, from: key)
        try #require(problem == nil)
        return (key, outbox, address)
    }

    /// Feeds `messages` to the core as one socket read.
    static func receive(
        _ messages: [PeerMessage], from key: PeerKey, into core: inout SessionCore, effects: inout SessionEffects
    ) -> [ReaderStep] {
        core.received(messages.map { .message($0) }, from: key, epoch: 1, effects: &effects)
    }

    /// The blocks of `piece` as the peer sends them.
    static func blocks(of piece: Int) -> [PeerMessage] {
        PieceLayout(pieceLength: 32_768, totalLength: 2 * 32_768).requests(in: PieceIndex(piece)).map { request in
            let start = piece * 32_768 + Int(request.begin)
            let bytes = Array(fixture.content[start..<start + Int(request.length)])
            return .piece(index: request.piece, begin: request.begin, block: ByteBuffer(bytes: bytes))
        }
    }

    /// A seed on `port` that has unchoked us, with requests out for the whole torrent.
    static func downloading(port: UInt16) throws -> (SessionCore, PeerKey, PeerAddress, SessionEffects) {
        var core = Self.core()
        let (key, _, address) = try Self.connect(&core, port: port)
        var effects = SessionEffects()
        let bitfield = ByteBuffer(bytes: Bitfield(pattern: "11")!.bytes)
        _ = Self.receive([.bitfield(bitfield), .unchoke], from: key, into: &core, effects: &effects)
        return (core, key, address, effects)
    }

    @Test func anAssembledPieceGoesToBeStoredAndItsVerdictIsJournaled() throws {
        var (core, key, _, effects) = try Self.downloading(port: 1)
        #expect(effects.store.isEmpty)
        let steps = Self.receive(Self.blocks(of: 0), from: key, into: &core, effects: &effects)
        #expect(steps.isEmpty)
        let stored = try #require(effects.store.first)
        #expect(effects.store.count == 1 && stored.piece == PieceIndex(0) && !stored.watched)

        var verdict = SessionEffects()
        core.pieceStored(stored.piece, stored.buffer, .checked(matches: true, digests: nil), effects: &verdict)
        #expect(verdict.verified == [PieceIndex(0)])
        #expect(verdict.banned.isEmpty && verdict.failure == nil)
        #expect(!verdict.wake, "one piece of two: the download goes on")
        #expect(core.swarm.picker.has(PieceIndex(0)))
    }

    @Test func theLastPieceWakesTheLoopAndABadPieceFromOnePeerBansIt() throws {
        var (core, key, address, effects) = try Self.downloading(port: 2)
        _ = Self.receive(Self.blocks(of: 0) + Self.blocks(of: 1), from: key, into: &core, effects: &effects)
        try #require(effects.store.count == 2)

        var first = SessionEffects()
        core.pieceStored(PieceIndex(0), effects.store[0].buffer, .checked(matches: true, digests: nil), effects: &first)
        // Piece 1 failed its hash: its one sender is to blame, and banned.
        var second = SessionEffects()
        core.pieceStored(
            PieceIndex(1), effects.store[1].buffer, .checked(matches: false, digests: nil), effects: &second)
        #expect(second.verified.isEmpty)
        #expect(second.banned.map(\.address) == [address])
        #expect(core.swarm.candidates[address]?.banned == true)
        #expect(core.uploads.bannedPeerIds.contains(Self.peerId))
        #expect(core.bannedAddresses == [address])
        #expect(core.swarm.statistics.totals.wasted == 32_768)
        #expect(!core.swarm.picker.has(PieceIndex(1)))
    }

    @Test func aFailedWriteOrReadIsAFaultForTheActor() throws {
        var (core, key, _, effects) = try Self.downloading(port: 3)
        _ = Self.receive(Self.blocks(of: 0), from: key, into: &core, effects: &effects)
        let stored = try #require(effects.store.first)
        struct DiskFull: Error {}
        var failed = SessionEffects()
        core.pieceStored(stored.piece, stored.buffer, .failed(DiskFull()), effects: &failed)
        #expect(failed.failure?.hasPrefix("cannot write to disk") == true)
        #expect(!core.swarm.picker.has(PieceIndex(0)))

        var hashed = SessionEffects()
        core.pieceHashed(PieceIndex(1), .failed(DiskFull()), effects: &hashed)
        #expect(hashed.failure?.hasPrefix("cannot read back piece 1") == true)
    }

    @Test func incomingPeersThatAreUsOrBannedAreRefused() throws {
        var core = Self.core()
        let own = core.configuration.peerId
        let hash = Self.fixture.metainfo.infoHashes.wireHash
        func accept(_ peerId: [UInt8], port: UInt16) throws -> PeerKey {
            try core.acceptIncoming(
                PeerHandshake(infoHash: hash, peerId: peerId, reserved: [.fast]),
                address: PeerAddress(host: .ipv4(127, 0, 0, 1), port: port), channel: EmbeddedChannel(),
                outbox: PeerOutbox(budget: PeerMemoryBudget()))
        }
        var ourselves: PeerDropped?
        do { _ = try accept(own, port: 10) } catch let error as PeerDropped { ourselves = error }
        #expect(ourselves?.reason == "connected to ourselves")

        core.uploads.bannedPeerIds.insert(Self.peerId)
        var banned: PeerDropped?
        do { _ = try accept(Self.peerId, port: 11) } catch let error as PeerDropped { banned = error }
        #expect(banned?.reason == "banned")

        let key = try accept([UInt8](repeating: 9, count: 20), port: 12)
        #expect(core.swarm.peers[key]?.handshaken == true)
        #expect(core.swarm.peers.count == 1)
    }

    @Test func anInterestedPeerIsUnchokedServedAndItsUploadCounted() async throws {
        var core = Self.core()
        _ = core.swarm.picker.pieceVerified(PieceIndex(0))
        let (key, outbox, _) = try Self.connect(&core, port: 4)
        _ = await SessionSwarmTests.sent(outbox)  // our handshake's followers: bitfield, extension handshake
        var effects = SessionEffects()
        _ = Self.receive([.interested], from: key, into: &core, effects: &effects)
        #expect(await SessionSwarmTests.sent(outbox).contains(.unchoke), "a free slot: unchoked at once")
        let request = BlockRequest(piece: PieceIndex(0), begin: 0, length: 16_384)
        _ = Self.receive([.request(request)], from: key, into: &core, effects: &effects)
        #expect(effects.serve == [key])
        // The serving task takes the request, reads the block, and the writer reports it written.
        #expect(core.nextUploads(key, closing: false) == [request])
        core.blockRead(request, ByteBuffer(bytes: Array(Self.fixture.content[0..<16_384])), for: key)
        #expect(core.swarm.peers[key]?.upload.queuedBytes == 16_384)
        var written = SessionEffects()
        core.uploadWritten(key, bytes: 16_384, effects: &written)
        #expect(core.swarm.statistics.totals.uploaded == 16_384)
        #expect(core.swarm.peers[key]?.upload.queuedBytes == 0)
        #expect(core.nextUploads(key, closing: false).isEmpty, "nothing more asked: the serving task ends")
        #expect(written.serve.isEmpty)
    }
}
