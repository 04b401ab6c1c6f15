import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Engine

/// The memory budget as a hostile peer meets it on a real loopback socket: a peer that floods a seed
/// with requests while choked and never reads the rejects is held to its queue limit, dropped when it
/// does not drain, and everything held for it is given back; and a `have` makes us interested only
/// when we want that piece.
@Suite(.timeLimit(.minutes(5))) struct PeerBudgetWireTests {
    /// A raw connection that never reads (auto-read off, a tiny receive buffer) and writes raw bytes.
    static func deafPeer(_ port: UInt16) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4096)
            .connect(host: "127.0.0.1", port: Int(port)).get()
    }

    @Test func aPeerThatNeverReadsIsHeldToItsLimitThenDroppedAndItsMemoryGivenBack() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 41)
        let limit = 64 << 10
        let budget = PeerMemoryBudget(peerQueueLimit: limit, drainTimeout: .seconds(1))
        // Requests while choked are allowed far past this flood (normally a peer is dropped past
        // `reqq` of them), so that it is the budget that holds the peer here.
        let seed = try await PeerListenerTests.Seed.start(fixture, budget: budget, maxPeerRequests: 10_000_000)
        let peer = try await Self.deafPeer(seed.listener.port)
        let guardrail = peer.eventLoop.scheduleTask(in: .seconds(30)) { peer.close(promise: nil) }
        defer { guardrail.cancel() }

        var opening = peer.allocator.buffer(capacity: 128)
        opening.writePeerHandshake(
            PeerHandshake(
                infoHash: fixture.metainfo.infoHashes.wireHash, peerId: PeerID.generate(), reserved: [.fast]))
        opening.writePeerMessage(.haveNone)
        peer.writeAndFlush(opening, promise: nil)
        // The seed's socket gets a small send buffer too, so the kernel holds little of what is not read
        // (it would otherwise grow to megabytes): the rest stays in the seed's process.
        let admitted = try await poll(timeout: .seconds(10)) {
            await seed.session.core.swarm.peers.values.contains { $0.handshaken }
        }
        try #require(admitted)
        for channel in await seed.session.core.swarm.peers.values.map(\.channel) {
            try await channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: 4096).get()
        }
        // Valid requests, never `interested`: the seed keeps us choked and rejects each one (Fast).
        var flood = peer.allocator.buffer(capacity: 10_000 * 17)
        for index in 0..<10_000 {
            let request = BlockRequest(
                piece: PieceIndex(UInt32(index % 4)), begin: UInt32(index % 2) * 16_384, length: 16_384)
            flood.writePeerMessage(.request(request))
        }
        // As many as the seed takes, for at most 20 s: unbounded, its rejects would pile up in its memory.
        // A chunk is written only while our own socket takes them, so we hold little ourselves.
        var most = 0
        var chunks = 0
        let dropped = try await poll(timeout: .seconds(20)) {
            most = max(most, budget.usedBytes)
            if peer.isActive, peer.isWritable {
                peer.writeAndFlush(flood, promise: nil)
                chunks += 1
            }
            return await seed.session.core.swarm.peers.isEmpty
        }
        #expect(dropped, "the seed keeps a peer that has not read for longer than the drain timeout (most \(most))")
        // The limit, plus what one batch of frames (at most 256) can add before the reader checks.
        #expect(most > limit / 2, "the flood did not fill the queue: \(most)")
        #expect(most <= limit + 256 * 81 + 64 << 10, "\(most) bytes held for one peer")
        let released = try await poll(timeout: .seconds(5)) { budget.usedBytes == 0 }
        #expect(released, "\(budget.usedBytes) bytes still held after the peer left")
        peer.close(promise: nil)
        await seed.stop()
    }

    /// A leecher with piece 0 hears `have 0` (nothing new for it) and then `have 2`: it becomes
    /// interested at the second only.
    @Test func aHaveMakesUsInterestedOnlyInAPieceWeWant() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 42)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        try await storage.prepare()
        try await storage.write(piece: PieceIndex(0), begin: 0, bytes: Array(fixture.content[0..<32_768]))
        let leecher = try await PeerListenerTests.Seed.start(fixture, storage: storage)
        let peer = try await UploadWireTests.RawPeer.connect(leecher.listener.port)
        let hash = fixture.metainfo.infoHashes.wireHash
        try await UploadWireTests.talk(peer) { out, read in
            try await out.write(.handshake(PeerHandshake(infoHash: hash, peerId: PeerID.generate(), reserved: [.fast])))
            guard case .handshake = try await read() else {
                Issue.record("no handshake back")
                return
            }
            // A request while choked is rejected: the reject marks the point where `have 0` was handled.
            let marker = BlockRequest(piece: PieceIndex(0), begin: 0, length: 16_384)
            try await out.write(contentsOf: [
                .message(.haveNone), .message(.have(PieceIndex(0))), .message(.request(marker)),
            ])
            var before: [PeerMessage] = []
            let reject = try await UploadWireTests.next(read) { message in
                before.append(message)
                return message == .rejectRequest(marker)
            }
            #expect(reject == .rejectRequest(marker))
            #expect(!before.contains(.interested), "interested in a piece it has: \(before)")
            try await out.write(.message(.have(PieceIndex(2))))
            var seen: [PeerMessage] = []
            let interested = try await UploadWireTests.next(read) { message in
                seen.append(message)
                return message == .interested
            }
            #expect(interested == .interested, "messages: \(seen)")
        }
        await leecher.stop()
    }
}
