import NIOCore
import NIOPosix
import Testing

@testable import Engine

/// Uploading as a peer sees it on the wire, against a seed session behind its listener: requests
/// while choked are rejected (Fast extension), an interested peer is unchoked and served exact
/// blocks, a cancelled request is answered by a reject or the block (never both, never neither), and
/// bad requests or garbage end the connection.
@Suite(.timeLimit(.minutes(5))) struct UploadWireTests {
    typealias Wire = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>

    /// A raw peer speaking the wire protocol to `port`.
    struct RawPeer {
        let channel: Wire

        static func connect(_ port: UInt16) async throws -> RawPeer {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: Int(port)) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addPeerWireCodec()
                        try channel.pipeline.syncOperations.addHandler(PeerFrameBatcher())
                        return try Wire(wrappingChannelSynchronously: channel)
                    }
                }
            return RawPeer(channel: channel)
        }
    }

    /// Runs `body` with the peer's outbound writer and a function that returns the next frame (or `nil`
    /// once the connection closed). The connection is closed after 20 s whatever happens, so no read
    /// waits longer.
    static func talk(
        _ peer: RawPeer,
        _ body: (NIOAsyncChannelOutboundWriter<PeerWireFrame>, () async throws -> PeerWireFrame?) async throws -> Void
    ) async throws {
        let channel = peer.channel.channel
        let guardrail = channel.eventLoop.scheduleTask(in: .seconds(20)) { channel.close(promise: nil) }
        defer { guardrail.cancel() }
        try await peer.channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var pending: [PeerWireFrame] = []
            try await body(outbound) {
                if pending.isEmpty {
                    guard let batch = try await iterator.next() else { return nil }
                    pending = batch
                }
                return pending.isEmpty ? nil : pending.removeFirst()
            }
        }
    }

    /// Skips keep-alives and messages about availability or interest until a message matching `match`.
    static func next(
        _ read: () async throws -> PeerWireFrame?, where match: (PeerMessage) -> Bool
    ) async throws -> PeerMessage? {
        while let frame = try await read() {
            guard case .message(let message) = frame else { continue }
            if match(message) { return message }
        }
        return nil
    }

    @Test func chokedRejectedUnchokedServedCancelAnswered() async throws {
        let fixture = SessionFixture(length: 4 * 32_768 + 100, pieceLength: 32_768, seed: 31)
        let seed = try await PeerListenerTests.Seed.start(fixture)
        let peer = try await RawPeer.connect(seed.listener.port)
        let hash = fixture.metainfo.infoHashes.wireHash
        try await Self.talk(peer) { out, read in
            try await out.write(.handshake(PeerHandshake(infoHash: hash, peerId: PeerID.generate(), reserved: [.fast])))
            guard case .handshake(let theirs) = try await read() else {
                Issue.record("no handshake back")
                return
            }
            #expect(theirs.infoHash == hash && theirs.reserved.supportsFast)
            #expect(try await read() == .message(.haveAll))
            try await out.write(.message(.haveNone))

            // Not unchoked yet: refused.
            let early = BlockRequest(piece: PieceIndex(0), begin: 0, length: 16_384)
            try await out.write(.message(.request(early)))
            #expect(try await read() == .message(.rejectRequest(early)))

            // Interested: a free slot, so unchoked at once; then served exactly.
            try await out.write(.message(.interested))
            #expect(try await Self.next(read) { $0 == .unchoke } == .unchoke)
            let last = BlockRequest(piece: PieceIndex(4), begin: 0, length: 100)
            for request in [early, last] {
                try await out.write(.message(.request(request)))
                let block = try await Self.next(read) {
                    if case .piece = $0 { return true } else { return false }
                }
                let start = request.piece.value * 32_768 + Int(request.begin)
                let expected = ByteBuffer(bytes: fixture.content[start..<start + Int(request.length)])
                #expect(block == .piece(index: request.piece, begin: request.begin, block: expected))
            }

            // A request cancelled at once gets its block or a reject: exactly one answer.
            let cancelled = BlockRequest(piece: PieceIndex(1), begin: 16_384, length: 16_384)
            try await out.write(contentsOf: [.message(.request(cancelled)), .message(.cancel(cancelled))])
            let marker = BlockRequest(piece: PieceIndex(2), begin: 0, length: 16_384)
            try await out.write(.message(.request(marker)))
            var answers: [PeerMessage] = []
            while let message = try await Self.next(read, where: { _ in true }) {
                answers.append(message)
                if case .piece(let index, _, _) = message, index == marker.piece { break }
            }
            let aboutCancelled = answers.filter {
                switch $0 {
                case .rejectRequest(let request): return request == cancelled
                case .piece(let index, let begin, _): return index == cancelled.piece && begin == cancelled.begin
                default: return false
                }
            }
            #expect(aboutCancelled.count == 1, "one answer for the cancelled request: \(answers)")

            // A request past the end of the short last piece is refused, and one past the torrent ends it.
            let pastEnd = BlockRequest(piece: PieceIndex(4), begin: 0, length: 16_384)
            try await out.write(.message(.request(pastEnd)))
            #expect(
                try await Self.next(read) { if case .rejectRequest = $0 { true } else { false } }
                    == .rejectRequest(pastEnd))
            try await out.write(.message(.request(BlockRequest(piece: PieceIndex(99), begin: 0, length: 16_384))))
            #expect(try await Self.next(read) { _ in false } == nil, "the connection is closed")
        }
        let status = await seed.session.status()
        await seed.stop()
        // early, last and marker; the cancelled block too if it was already on its way.
        #expect(status.uploaded == 16_384 * 2 + 100 || status.uploaded == 16_384 * 3 + 100, "\(status.uploaded)")
    }

    @Test func garbageInsteadOfAHandshakeIsClosed() async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 32)
        let seed = try await PeerListenerTests.Seed.start(fixture)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: Int(seed.listener.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var random = SeededRandom(seed: 32)
        // Longer than an MSE/PE key and its longest padding (96 + 512 + 20 bytes): anything shorter
        // could still be the start of an encrypted handshake, which only the timeout ends.
        let garbage = (0..<1000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let raw = channel.channel
        let guardrail = raw.eventLoop.scheduleTask(in: .seconds(10)) { raw.close(promise: nil) }
        let started = ContinuousClock.now
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: [42] + garbage))
            do {
                for try await _ in inbound {}
            } catch {
                // A reset is a close too.
            }
        }
        guardrail.cancel()
        await seed.stop()
        #expect(ContinuousClock.now - started < .seconds(9), "closed by the listener, not by the test's guardrail")
    }
}
