import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// While complete pieces wait for their writes, requests start no new piece past the memory budget, and
/// start them again as the writes end.
@Suite(.timeLimit(.minutes(1)))
struct PieceMemoryBudgetTests {
    /// Sixteen pieces of two blocks each.
    static let fixture = SessionFixture(length: 16 * 32_768, pieceLength: 32_768, seed: 5)
    static let layout = PieceLayout(pieceLength: 32_768, totalLength: 16 * 32_768)

    @Test func theLimitHoldsOnlyWhileAStoreIsInFlight() {
        let budget = PieceMemoryBudget(bytes: 3 * 32_768)
        #expect(budget.maxPiecesInProgress(pieceLength: 32_768, storesInFlight: 0) == .max)
        #expect(budget.maxPiecesInProgress(pieceLength: 32_768, storesInFlight: 1) == 3)
        // Pieces larger than the budget: two at a time, so one is fetched while the other is written.
        #expect(budget.maxPiecesInProgress(pieceLength: 1 << 20, storesInFlight: 2) == 2)
    }

    @Test func aPickStartsNoMoreNewPiecesThanAllowedButFinishesStartedOnes() {
        typealias F = PickerFixture
        var picker = F.picker("1111111")
        // Piece 0 started, two of its blocks requested.
        let first = picker.pickBlocks(for: 1, count: 2, peerHas: F.seed)
        #expect(F.pieces(first).count == 1)
        let none = picker.pickBlocks(for: 1, count: 12, newPieces: 0, peerHas: F.seed)
        #expect(F.pieces(none) == F.pieces(first) && none.count == 2, "only the rest of the started piece")
        let one = picker.pickBlocks(for: 1, count: 12, newPieces: 1, peerHas: F.seed)
        #expect(F.pieces(one).count == 1 && one.count == 4)
        #expect(picker.piecesInProgressCount == 2)
        let more = picker.pickBlocks(for: 1, count: 12, peerHas: F.seed)
        #expect(F.pieces(more).count == 3 && picker.piecesInProgressCount == 5)
    }

    /// A core whose pieces in progress may take three pieces' worth while stores are in flight, with a
    /// seed that has unchoked us.
    static func downloading() throws -> (SessionCore, PeerKey, PeerOutbox) {
        let layout = Self.layout
        var core = SessionCore(
            metainfo: fixture.metainfo, layout: layout, filePriorities: [],
            configuration: SessionConfiguration(listenPort: 1), limits: TransferLimits(),
            logger: Logger(label: "test"))
        core.verification = PieceVerification(layout: layout, budget: PieceMemoryBudget(bytes: 3 * 32_768))
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        let key = core.register(
            address: PeerAddress(host: .ipv4(127, 0, 0, 1), port: 1), channel: EmbeddedChannel(), outbox: outbox)
        let handshake = PeerHandshake(
            infoHash: fixture.metainfo.infoHashes.wireHash, peerId: [UInt8](repeating: 7, count: 20),
            reserved: [.fast, .extensionProtocol])
        try #require(core.handshakeReceived(handshake, from: key) == nil)
        var effects = SessionEffects()
        _ = core.received([.message(.haveAll), .message(.unchoke)], from: key, epoch: 1, effects: &effects)
        return (core, key, outbox)
    }

    /// The peer's blocks of `piece`, as it sends them.
    static func blocks(of piece: PieceIndex) -> [PeerWireFrame] {
        layout.requests(in: piece).map { request in
            let start = piece.value * 32_768 + Int(request.begin)
            let bytes = Array(fixture.content[start..<start + Int(request.length)])
            return .message(.piece(index: piece, begin: request.begin, block: ByteBuffer(bytes: bytes)))
        }
    }

    @Test func newPiecesWaitForTheStoresInFlightAndStartAgainAsTheyEnd() throws {
        var (core, key, _) = try Self.downloading()
        func outstanding() -> Set<PieceIndex> {
            Set(core.swarm.peers[key]!.machine.outstandingRequests.map(\.piece))
        }
        // Before any store nothing is limited: the first requests start more than three pieces.
        let first = core.swarm.picker.piecesInProgressCount
        try #require(first > 3 && first < Self.layout.pieceCount)
        #expect(outstanding().count == first)
        // Every piece asked for arrives whole, and none of their stores ends: no new piece starts.
        var stores: [(piece: PieceIndex, buffer: PieceBuffer)] = []
        while let piece = outstanding().min(by: { $0.value < $1.value }) {
            var effects = SessionEffects()
            _ = core.received(Self.blocks(of: piece), from: key, epoch: 1, effects: &effects)
            stores += effects.store.map { ($0.piece, $0.buffer) }
            #expect(core.swarm.picker.piecesInProgressCount == first, "no new piece while stores are in flight")
        }
        #expect(stores.count == first, "every piece complete, waiting for its write")

        // The writes end one by one: no new piece while three or more are in progress.
        func storeEnds() {
            let done = stores.removeFirst()
            var effects = SessionEffects()
            core.pieceStored(done.piece, done.buffer, .checked(matches: true, digests: nil), effects: &effects)
            #expect(effects.verified == [done.piece])
        }
        while stores.count > 3 {
            storeEnds()
            #expect(outstanding().isEmpty, "\(stores.count) pieces still being stored")
        }
        // Two left: one new piece may start.
        storeEnds()
        let next = outstanding()
        #expect(next.count == 1 && core.swarm.picker.piecesInProgressCount == 3)
        // The last stores end: nothing limits the requests any more.
        storeEnds()
        storeEnds()
        #expect(outstanding().count > 1)
    }
}
