import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// Incoming peers through the listening socket, inside the process on 127.0.0.1: one session seeds
/// another through it; unknown torrents, ourselves and silent peers are turned away.
@Suite(.timeLimit(.minutes(5))) struct PeerListenerTests {
    /// A running seed session with all of `fixture`'s data, reachable through a listener on a free port.
    struct Seed {
        let session: TorrentSession
        let listener: PeerListener
        let run: Task<TorrentSession.Outcome, Never>
        let configuration: SessionConfiguration

        /// - Parameters:
        ///   - knowsItsPort: whether the session is told its listening port (so it never dials
        ///     127.0.0.1 at that port itself).
        ///   - storage: its data (by default all of it: a seed).
        ///   - budget: the memory budget of the session and listener.
        ///   - maxPeerRequests: the session's request queue limit per peer (also how many requests a
        ///     choked peer may send before it is dropped).
        static func start(
            _ fixture: SessionFixture, handshakeTimeout: Duration = .seconds(10), knowsItsPort: Bool = true,
            storage given: MemoryStorage? = nil, budget: PeerMemoryBudget = PeerMemoryBudget(),
            maxPeerRequests: Int? = nil, hosts: [String] = ["127.0.0.1"]
        ) async throws -> Seed {
            var storage = given
            if storage == nil { storage = try await fixture.filledStorage() }
            let registry = SessionRegistry()
            let listener = try await PeerListener.bind(
                hosts: hosts, port: 0, registry: registry, handshakeTimeout: handshakeTimeout, budget: budget)
            Task { await listener.run() }
            var configuration = TorrentSessionTests.quickConfiguration()
            configuration.memoryBudget = budget
            if let maxPeerRequests { configuration.maxPeerRequests = maxPeerRequests }
            if knowsItsPort { configuration.listenPort = listener.port }
            let session = TorrentSession(
                metainfo: fixture.metainfo, storage: storage!, configuration: configuration, stopWhenComplete: false)
            registry.add(session)
            let run = Task { await session.run() }
            // Ready once its data is checked (peers that come earlier are refused); the deadline is
            // generous, for a loaded machine running every suite at once.
            let ready = try await poll(timeout: .seconds(120)) {
                await session.core.uploads.acceptingIncoming
            }
            try #require(ready, "the seed session did not finish checking its data")
            return Seed(session: session, listener: listener, run: run, configuration: configuration)
        }

        var address: PeerAddress { PeerAddress(parsing: "127.0.0.1:\(listener.port)")! }

        func stop() async {
            await session.stop()
            _ = await run.value
            listener.close()
        }
    }

    /// One session seeds another through the listener. Over IPv6 the listener holds 127.0.0.1 and ::1
    /// on one port, and the leecher knows only `[::1]:PORT`.
    @Test(arguments: [false, true]) func aSessionSeedsAnotherThroughTheListener(overIPv6: Bool) async throws {
        let fixture = SessionFixture(length: 5 * 32_768 + 777, pieceLength: 32_768, seed: 21)
        let hosts = overIPv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"]
        let seed = try await Seed.start(fixture, hosts: hosts)
        #expect(seed.listener.hosts == hosts && seed.listener.unbound.isEmpty)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let leecher = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: TorrentSessionTests.quickConfiguration())
        let address = overIPv6 ? PeerAddress(parsing: "[::1]:\(seed.listener.port)")! : seed.address
        await leecher.addPeers([address], source: .manual)
        let outcome = await leecher.run()
        let seedStatus = await seed.session.status()
        // Its only peer gone, the seed lets go of the pieces it read for it.
        let released = try await poll(timeout: .seconds(10)) { await seed.session.readCache.heldBytes == 0 }
        let held = await seed.session.readCache.heldBytes
        await seed.stop()
        #expect(outcome == .completed)
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
        #expect(seedStatus.uploaded == Int64(fixture.content.count))
        #expect(released, "the read cache still holds \(held) bytes")
    }

    /// A second address that cannot be bound on the first one's port (here: the same one, taken) is
    /// only noted.
    @Test func anAddressThatCannotBeBoundIsOnlyNoted() async throws {
        let listener = try await PeerListener.bind(
            hosts: ["127.0.0.1", "127.0.0.1"], port: 0, registry: SessionRegistry())
        defer { listener.close() }
        #expect(listener.hosts == ["127.0.0.1"])
        #expect(listener.unbound.map(\.host) == ["127.0.0.1"])
    }

    /// The address of an accepted socket: IPv6 as such, an IPv4-mapped one as the IPv4 address.
    @Test func socketAddressesBecomePeerAddresses() throws {
        let mapped = PeerAddress(socketAddress: try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 6881))
        #expect(mapped?.description == "10.1.2.3:6881")
        let v6 = PeerAddress(socketAddress: try SocketAddress(ipAddress: "2001:db8::7", port: 51413))
        #expect(v6?.description == "[2001:db8::7]:51413")
    }

    /// Sends a handshake (when given) to the listener and says whether it answered with a handshake
    /// of its own, or closed the connection without one; waits at most `timeout`.
    static func knock(
        _ port: UInt16, handshake: PeerHandshake?, timeout: Duration = .seconds(20)
    ) async throws
        -> (answered: Bool, closed: Bool)
    {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: Int(port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            if let handshake {
                var buffer = ByteBuffer()
                buffer.writeBytes([19] + PeerHandshake.protocolName + [UInt8](repeating: 0, count: 8))
                buffer.writeBytes(handshake.infoHash + handshake.peerId)
                try await outbound.write(buffer)
            }
            return try await withThrowingTaskGroup(of: (Bool, Bool).self) { group in
                group.addTask {
                    var received = 0
                    for try await chunk in inbound {
                        received += chunk.readableBytes
                        if received >= PeerHandshake.encodedLength { return (true, false) }
                    }
                    return (false, true)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return (false, false)
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
        }
    }

    @Test func unknownTorrentIsClosedWithoutAnAnswer() async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 22)
        let seed = try await Seed.start(fixture)
        let stranger = PeerHandshake(infoHash: [UInt8](repeating: 7, count: 20), peerId: PeerID.generate())
        let result = try await Self.knock(seed.listener.port, handshake: stranger)
        await seed.stop()
        #expect(result.closed && !result.answered)
    }

    @Test func ourOwnPeerIdIsRefused() async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 23)
        let seed = try await Seed.start(fixture)
        let ourselves = PeerHandshake(
            infoHash: fixture.metainfo.infoHashes.wireHash, peerId: seed.configuration.peerId)
        let result = try await Self.knock(seed.listener.port, handshake: ourselves)
        let known = PeerHandshake(infoHash: fixture.metainfo.infoHashes.wireHash, peerId: PeerID.generate())
        let welcome = try await Self.knock(seed.listener.port, handshake: known)
        await seed.stop()
        #expect(result.closed && !result.answered)
        #expect(welcome.answered, "a real peer gets our handshake back")
    }

    @Test func dialingOurOwnListenerBansThatAddress() async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 25)
        // As if our own address came back under a name we do not know as ours (a NAT's public address).
        let seed = try await Seed.start(fixture, knowsItsPort: false)
        let alias = seed.address
        await seed.session.addPeers([alias], source: .tracker)
        let banned = try await poll(timeout: .seconds(10)) { await seed.session.bannedAddresses() == [alias] }
        await seed.stop()
        #expect(banned, "the address that led to ourselves is banned")
    }

    enum KnockOutcome: Sendable { case closed, refused, open }

    /// Peers connecting while the listener closes: each is refused, or accepted and closed (one NIO
    /// accepted as the server closed is dropped by its stream and must be closed, not trap); none is
    /// left open, and the listener's run ends.
    @Test func connectionsArrivingAsTheListenerClosesAreAllClosed() async throws {
        let listener = try await PeerListener.bind(
            host: "127.0.0.1", port: 0, registry: SessionRegistry(), handshakeTimeout: .milliseconds(500))
        let run = Task { await listener.run() }
        let port = listener.port
        let outcomes: [KnockOutcome] = try await withThrowingTaskGroup(of: KnockOutcome?.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    do {
                        let knocked = try await Self.knock(port, handshake: nil, timeout: .seconds(20))
                        return knocked.closed ? KnockOutcome.closed : KnockOutcome.open
                    } catch {
                        return KnockOutcome.refused  // the socket was closed before this connect
                    }
                }
            }
            group.addTask {
                // Closed once some have been accepted, while the others are still arriving.
                _ = try await poll(timeout: .seconds(10)) { listener.admission.pending >= 4 }
                listener.close()
                return nil
            }
            var outcomes: [KnockOutcome] = []
            for try await outcome in group {
                if let outcome { outcomes.append(outcome) }
            }
            return outcomes
        }
        await run.value
        #expect(outcomes.count == 64)
        #expect(outcomes.contains(.closed), "some were accepted before the close")
        #expect(!outcomes.contains(.open), "every connection refused or closed")
    }

    @Test func aSilentConnectionIsClosedAfterTheHandshakeTimeout() async throws {
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 24)
        let seed = try await Seed.start(fixture, handshakeTimeout: .milliseconds(300))
        let result = try await Self.knock(seed.listener.port, handshake: nil, timeout: .seconds(20))
        await seed.stop()
        #expect(result.closed && !result.answered)
    }
}

/// The read cache serves exact blocks, from whole cached pieces or (for big pieces) parts of them, and a
/// block across two parts on its own.
@Suite(.timeLimit(.minutes(5))) struct PieceReadCacheTests {
    @Test(arguments: [16 << 20, 64 * 1024])
    func servesExactBlocks(capacity: Int) async throws {
        let fixture = SessionFixture(length: 3 * 32_768 + 5, pieceLength: 32_768, seed: 41)
        let storage = try await fixture.filledStorage()
        let cache = PieceReadCache(storage: storage, capacity: capacity)
        let requests = [
            (0, 0, 16_384), (0, 16_384, 16_384), (2, 100, 7), (3, 0, 5), (1, 32_767, 1), (1, 16_000, 1_000),
            (1, 0, 32_768),
        ]
        for (piece, begin, length) in requests {
            let block = try await cache.block(
                BlockRequest(piece: PieceIndex(piece), begin: UInt32(begin), length: UInt32(length)))
            let start = piece * 32_768 + begin
            #expect(Array(block.readableBytesView) == Array(fixture.content[start..<start + length]))
        }
        let batch = await cache.blocks(
            requests.map { BlockRequest(piece: PieceIndex($0), begin: UInt32($1), length: UInt32($2)) } + [
                BlockRequest(piece: PieceIndex(3), begin: 0, length: 6),
                BlockRequest(piece: PieceIndex(0), begin: 0, length: 1),
            ])
        #expect(batch.count == requests.count + 1, "a batch stops at the first request that cannot be read")
        for ((piece, begin, length), result) in zip(requests, batch) {
            let start = piece * 32_768 + begin
            #expect(
                (try? result.get()).map { Array($0.readableBytesView) }
                    == Array(fixture.content[start..<start + length]))
        }
        #expect((try? batch.last?.get()) == nil, "past the end of the last piece")
    }

    /// A long piece is read in parts of a quarter of the budget, each once however many blocks it serves.
    @Test func aLongPieceIsReadInParts() async throws {
        let fixture = SessionFixture(length: 4 * 65_536, pieceLength: 65_536, seed: 42)
        let storage = CountingReads(try await fixture.filledStorage())
        let cache = PieceReadCache(storage: storage, capacity: 4 * 32_768)
        #expect(cache.partLength == 32_768)
        for begin in stride(from: 0, to: 65_536, by: 16_384) {
            let block = try await cache.block(BlockRequest(piece: PieceIndex(1), begin: UInt32(begin), length: 16_384))
            #expect(Array(block.readableBytesView) == Array(fixture.content[65_536 + begin..<65_536 + begin + 16_384]))
        }
        #expect(storage.reads.withLock { $0 } == [32_768, 32_768], "two parts, each read once")
    }

    /// Once the budget is full, each read goes into the buffer of the part pushed out before it (the
    /// spare), within the budget; ``PieceReadCache/release()`` lets go of everything.
    @Test func thePartPushedOutIsTheNextReadsBuffer() async throws {
        let fixture = SessionFixture(length: 12 * 32_768, pieceLength: 32_768, seed: 43)
        let storage = CountingReads(try await fixture.filledStorage())
        let cache = PieceReadCache(storage: storage, capacity: 4 * 32_768)
        for piece in 0..<12 {
            let block = try await cache.block(BlockRequest(piece: PieceIndex(piece), begin: 100, length: 1_000))
            let start = piece * 32_768 + 100
            #expect(Array(block.readableBytesView) == Array(fixture.content[start..<start + 1_000]))
            #expect(await cache.heldBytes <= 4 * 32_768)
        }
        let reused = storage.reused.withLock { $0 }
        #expect(reused.count == 12)
        #expect(reused.prefix(4) == [false, false, false, false], "nothing to reuse while the budget fills")
        #expect(reused.dropFirst(4).allSatisfy { $0 }, "then every read reuses a buffer: \(reused)")
        await cache.release()
        #expect(await cache.heldBytes == 0)
    }

    /// A read under way when the cache is released serves its block but is not kept.
    @Test func aReadUnderWayAtReleaseIsNotKept() async throws {
        let fixture = SessionFixture(length: 2 * 32_768, pieceLength: 32_768, seed: 44)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (gate, gateContinuation) = AsyncStream.makeStream(of: Void.self)
        let storage = GatedReads(try await fixture.filledStorage(), started: startedContinuation, gate: gate)
        let cache = PieceReadCache(storage: storage, capacity: 4 * 32_768)
        let reading = Task { try await cache.block(BlockRequest(piece: 1, begin: 0, length: 16_384)) }
        for await _ in started { break }
        await cache.release()
        gateContinuation.yield()
        let block = try await reading.value
        #expect(Array(block.readableBytesView) == Array(fixture.content[32_768..<49_152]))
        #expect(await cache.heldBytes == 0, "the part read across the release was kept")
    }
}

/// A storage that passes everything to a ``MemoryStorage``; a subclass changes how uploads are read.
private class ForwardingStorage: PieceStorage, @unchecked Sendable {
    let inner: MemoryStorage
    init(_ inner: MemoryStorage) { self.inner = inner }
    var layout: PieceLayout { inner.layout }
    func prepare() async throws { try await inner.prepare() }
    func write(piece: PieceIndex, begin: Int, bytes: [UInt8]) async throws {
        try await inner.write(piece: piece, begin: begin, bytes: bytes)
    }
    func read(piece: PieceIndex, begin: Int, length: Int) async throws -> [UInt8] {
        try await inner.read(piece: piece, begin: begin, length: length)
    }
    func readBuffer(
        piece: PieceIndex, begin: Int, length: Int, reusing: ReusableBuffer?
    ) async throws -> ByteBuffer {
        ByteBuffer(bytes: try await inner.read(piece: piece, begin: begin, length: length))
    }
    func hashPiece(_ piece: PieceIndex) async throws -> PieceDigest { try await inner.hashPiece(piece) }
    func flush() async throws { try await inner.flush() }
    func close() async { await inner.close() }
}

/// A storage whose reads for uploads say they started, then wait for the gate to open once each.
private final class GatedReads: ForwardingStorage, @unchecked Sendable {
    let started: AsyncStream<Void>.Continuation
    let gate: Mutex<AsyncStream<Void>.AsyncIterator?>
    init(_ inner: MemoryStorage, started: AsyncStream<Void>.Continuation, gate: AsyncStream<Void>) {
        self.started = started
        self.gate = Mutex(gate.makeAsyncIterator())
        super.init(inner)
    }
    override func readBuffer(
        piece: PieceIndex, begin: Int, length: Int, reusing: ReusableBuffer?
    ) async throws -> ByteBuffer {
        started.yield()
        var iterator = gate.withLock { $0.take() }
        _ = await iterator?.next()
        return try await super.readBuffer(piece: piece, begin: begin, length: length, reusing: nil)
    }
}

/// A storage that records the length of every read for uploads, and reads into the buffer it is given.
private final class CountingReads: ForwardingStorage, @unchecked Sendable {
    let reads = Mutex<[Int]>([])
    /// For each read: whether it was given a buffer to reuse.
    let reused = Mutex<[Bool]>([])
    override func readBuffer(
        piece: PieceIndex, begin: Int, length: Int, reusing: ReusableBuffer?
    ) async throws -> ByteBuffer {
        reads.withLock { $0.append(length) }
        let given = reusing?.take()
        reused.withLock { $0.append(given.map { $0.capacity >= length } ?? false) }
        var buffer = given ?? ByteBuffer()
        buffer.clear()
        buffer.writeBytes(try await inner.read(piece: piece, begin: begin, length: length))
        return buffer
    }
}
