import NIOCore
import Testing

@testable import Engine

/// A torrent's web seeds as the core decides about them: blocks from the same picker, delivered into
/// the same assemblies and checks, rests after failures, drops after hash failures.
@Suite(.timeLimit(.minutes(1))) struct SessionCoreWebSeedTests {
    static let fixture = SessionCoreTests.fixture
    static let url = "http://127.0.0.1:9/data/"

    /// The run's blocks with the torrent's bytes, or with every byte flipped when `corrupt`.
    static func bytes(of run: WebSeedRun, corrupt: Bool = false) -> [(BlockRequest, ByteBuffer)] {
        run.blocks.map { request in
            let start = request.piece.value * 32_768 + Int(request.begin)
            let bytes = fixture.content[start..<start + Int(request.length)].map { corrupt ? ~$0 : $0 }
            return (request, ByteBuffer(bytes: bytes))
        }
    }

    static func fetch(
        _ core: inout SessionCore, _ key: PeerKey, now: ContinuousClock.Instant = .now
    ) throws
        -> WebSeedRun
    {
        guard case .fetch(let run) = core.webSeedWork(key, now: now, closing: false) else {
            throw TestFailure("the web seed gets blocks to fetch")
        }
        return run
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func aWebSeedAloneGetsEveryPieceAndItsBlocksAreVerified() throws {
        var core = SessionCoreTests.core()
        var effects = SessionEffects()
        let starts = core.addWebSeeds([Self.url], effects: &effects)
        #expect(starts.count == WebSeedConfiguration.defaultConnections && starts.allSatisfy { $0.key.value < 0 })
        let key = starts[0].key
        let run = try Self.fetch(&core, key)
        #expect(run.range == 0..<65_536, "both pieces in one run, though no peer announced them")
        var delivered = SessionEffects()
        let (goOn, writes) = core.webSeedReceived(
            Self.bytes(of: run), from: key, epoch: 1, now: .now, effects: &delivered)
        #expect(goOn && writes.isEmpty)
        #expect(delivered.store.map(\.piece) == [PieceIndex(0), PieceIndex(1)])
        for stored in delivered.store {
            var verdict = SessionEffects()
            core.pieceStored(stored.piece, stored.buffer, .checked(matches: true, digests: nil), effects: &verdict)
        }
        core.webSeedRunEnded(key, error: nil, now: .now, effects: &effects)
        #expect(core.swarm.picker.isComplete)
        #expect(core.webSeeds[0].downloaded == 65_536)
        guard case .stop = core.webSeedWork(key, now: .now, closing: false) else {
            Issue.record("a complete torrent stops its web seeds")
            return
        }
    }

    @Test func aWebSeedThatSendsBadPiecesIsDroppedAfterThreeHashFailures() throws {
        var core = SessionCoreTests.core()
        var effects = SessionEffects()
        let key = core.addWebSeeds([Self.url], effects: &effects)[0].key
        for failure in 1...3 {
            let run = try Self.fetch(&core, key)
            var delivered = SessionEffects()
            _ = core.webSeedReceived(
                Self.bytes(of: run, corrupt: true), from: key, epoch: 1, now: .now, effects: &delivered)
            var verdict = SessionEffects()
            let stored = try #require(delivered.store.first)
            core.pieceStored(stored.piece, stored.buffer, .checked(matches: false, digests: nil), effects: &verdict)
            for other in delivered.store.dropFirst() {
                core.pieceStored(other.piece, other.buffer, .checked(matches: true, digests: nil), effects: &verdict)
            }
            core.webSeedRunEnded(key, error: nil, now: .now, effects: &verdict)
            #expect(core.webSeeds[0].hashFailures == failure)
            #expect(core.webSeeds[0].isDropped == (failure == 3))
            let kinds = verdict.events.map(\.kind)
            #expect(kinds == [failure == 3 ? .webSeedDropped : .webSeedFailed], "\(verdict.events)")
        }
        guard case .stop = core.webSeedWork(key, now: .now, closing: false) else {
            Issue.record("a dropped web seed stops")
            return
        }
        let record = core.webSeeds[0].record(torrentId: 1)
        #expect(record.address == Self.url && record.port == 9 && record.source == .webSeed)
        #expect(record.banned == true && record.hashFailuresDelta == 3 && record.client?.contains("dropped") == true)
    }

    @Test func aFailureRestsTheWebSeedAsRetryAfterAsks() throws {
        var core = SessionCoreTests.core()
        var effects = SessionEffects()
        let key = core.addWebSeeds([Self.url], effects: &effects)[0].key
        let start = ContinuousClock.now
        _ = try Self.fetch(&core, key, now: start)
        var failed = SessionEffects()
        core.webSeedRunEnded(
            key, error: .unavailable(status: 503, retryAfter: .seconds(30)), now: start, effects: &failed)
        #expect(failed.events.map(\.kind) == [.webSeedFailed])
        #expect(core.swarm.picker.outstandingRequests(of: key).isEmpty, "its blocks went back to the picker")
        guard case .wait(let delay) = core.webSeedWork(key, now: start + .seconds(1), closing: false) else {
            Issue.record("a resting web seed waits")
            return
        }
        #expect(delay == .seconds(29))
        let again = try Self.fetch(&core, key, now: start + .seconds(31))
        #expect(!again.blocks.isEmpty)
    }

    @Test func anUnusableWebSeedIsDroppedWithItsReasonAndNeverStarted() {
        var core = SessionCoreTests.core()
        var effects = SessionEffects()
        let starts = core.addWebSeeds(["ftp://127.0.0.1/x", Self.url], effects: &effects)
        #expect(starts.allSatisfy { $0.url == Self.url })
        #expect(effects.events.count == 1 && effects.events[0].kind == .webSeedDropped)
        #expect(effects.events[0].detail.contains("unsupported"))
        #expect(core.swarm.picker.seedCount == 1, "only the usable web seed counts as having every piece")
    }
}
