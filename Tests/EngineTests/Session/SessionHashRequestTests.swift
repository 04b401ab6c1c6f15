import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// A v2 torrent's session answers `hash request`s from its piece layers, within each peer's bounds.
@Suite(.timeLimit(.minutes(2))) struct SessionHashRequestTests {
    static func core(_ metainfo: Metainfo) -> SessionCore {
        SessionCore(
            metainfo: metainfo, layout: PieceLayout(metainfo), filePriorities: [],
            configuration: SessionConfiguration(listenPort: 1), limits: TransferLimits(), logger: Logger(label: "test"))
    }

    static func connect(_ core: inout SessionCore, _ metainfo: Metainfo) throws -> (PeerKey, PeerOutbox) {
        let outbox = PeerOutbox(budget: PeerMemoryBudget())
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881)
        let key = core.register(address: address, channel: EmbeddedChannel(), outbox: outbox)
        let handshake = PeerHandshake(
            infoHash: metainfo.infoHashes.wireHash, peerId: [UInt8](repeating: 7, count: 20),
            reserved: [.fast, .extensionProtocol])
        try #require(core.handshakeReceived(handshake, from: key) == nil)
        return (key, outbox)
    }

    /// The hash messages among what was queued for the peer.
    static func sentHashMessages(_ outbox: PeerOutbox) async throws -> [HashMessage] {
        let batch = try #require(await outbox.next())
        outbox.written(batch)
        return try batch.frames.compactMap { frame in
            guard case .message(.unknown(let id, let payload)) = frame, HashMessage.handles(id) else { return nil }
            return try HashMessage(id: id, payload: payload)
        }
    }

    static func request(_ root: [UInt8]) -> HashRequest {
        HashRequest(piecesRoot: root, baseLayer: 1, index: 0, length: 4, proofLayers: 0)
    }

    static func longFile(_ metainfo: Metainfo) throws -> [UInt8] {
        let files = metainfo.files.indices.filter { !metainfo.files.isPad(at: $0) }.map { metainfo.files[$0] }
        return try #require(files.first { $0.displayPath.hasSuffix("d.bin") }?.piecesRoot)
    }

    @Test func aRequestGetsItsHashesAndAForeignRootAReject() async throws {
        let (metainfo, _, _) = try V2PieceRootsTests.make(.v2)
        var core = Self.core(metainfo)
        let (key, outbox) = try Self.connect(&core, metainfo)
        _ = try await Self.sentHashMessages(outbox)  // the handshake's availability and extension handshake
        let root = try Self.longFile(metainfo)
        let foreign = [UInt8](repeating: 3, count: 32)
        var effects = SessionEffects()
        let steps = core.received(
            [
                .message(HashMessage.request(Self.request(root)).peerMessage),
                .message(HashMessage.request(Self.request(foreign)).peerMessage),
            ],
            from: key, epoch: 1, effects: &effects)
        #expect(steps.isEmpty)
        #expect(
            try await Self.sentHashMessages(outbox) == [
                .hashes(Self.request(root), hashes: metainfo.pieceLayers[root]!), .reject(Self.request(foreign)),
            ])
    }

    /// A peer asking far faster than the bounds gets its burst answered, then rejects, then is dropped.
    @Test func aFloodIsRejectedThenDropped() async throws {
        let (metainfo, _, _) = try V2PieceRootsTests.make(.v2)
        var core = Self.core(metainfo)
        let (key, outbox) = try Self.connect(&core, metainfo)
        _ = try await Self.sentHashMessages(outbox)
        let root = try Self.longFile(metainfo)
        let flood = Int(PeerHashRequests.burst) + PeerHashRequests.maxRefusals + 10
        var effects = SessionEffects()
        let steps = core.received(
            Array(repeating: .message(HashMessage.request(Self.request(root)).peerMessage), count: flood),
            from: key, epoch: 1, effects: &effects)
        guard case .misbehaved = try #require(steps.last) else {
            Issue.record("the flooder is not dropped: \(steps)")
            return
        }
        let sent = try await Self.sentHashMessages(outbox)
        let answered = sent.filter { if case .hashes = $0 { true } else { false } }.count
        let rejected = sent.filter { if case .reject = $0 { true } else { false } }.count
        // The burst, plus what the bucket refilled while the loop ran.
        #expect(answered >= Int(PeerHashRequests.burst) && answered < Int(PeerHashRequests.burst) + 5)
        #expect(rejected == PeerHashRequests.maxRefusals, "each refusal but the last answered by a reject")
    }

    /// A malformed hash message drops the peer; a v1 torrent ignores hash messages as unknown ones.
    @Test func aMalformedMessageDropsThePeerAndV1IgnoresThem() throws {
        let (metainfo, _, _) = try V2PieceRootsTests.make(.v2)
        var core = Self.core(metainfo)
        let (key, _) = try Self.connect(&core, metainfo)
        var effects = SessionEffects()
        let bad = PeerMessage.unknown(id: HashMessage.requestID, payload: ByteBuffer(bytes: [1, 2, 3]))
        let steps = core.received([.message(bad)], from: key, epoch: 1, effects: &effects)
        guard case .misbehaved = try #require(steps.last) else {
            Issue.record("a malformed hash request is not a fault: \(steps)")
            return
        }

        let (v1, _, _) = try V2PieceRootsTests.make(.v1)
        var plain = Self.core(v1)
        let (other, _) = try Self.connect(&plain, v1)
        #expect(plain.received([.message(bad)], from: other, epoch: 1, effects: &effects).isEmpty)
    }
}
