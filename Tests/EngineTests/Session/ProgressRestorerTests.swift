import Testing

@testable import Engine

/// The start check's reads: what was recorded, what the files hold when nothing was, and which pieces
/// read back match their hashes.
@Suite(.timeLimit(.minutes(1))) struct ProgressRestorerTests {
    static let fixture = SessionFixture(length: 3 * 16_384, pieceLength: 16_384, seed: 3)

    static func restorer(_ storage: any PieceStorage, store: MemoryResumeStore?) -> ProgressRestorer {
        ProgressRestorer(
            metainfo: fixture.metainfo, storage: storage, store: store, torrentId: 1, writer: ResumeWriter(),
            policy: .cleanHistory)
    }

    @Test func withNothingRecordedThePiecesHoldingDataAreReadBack() async throws {
        let storage = try await Self.fixture.filledStorage()
        try await storage.write(piece: PieceIndex(1), begin: 0, bytes: [UInt8](repeating: 0, count: 100))
        let restorer = Self.restorer(storage, store: MemoryResumeStore(pieceCount: 3))
        let found = try await restorer.find()
        #expect(found.recorded == nil || found.recorded?.state.verified.isNone == true)
        #expect(found.findings.checkedDataOnDisk)
        let pieces = found.findings.recheck.sorted()
        #expect(pieces == [PieceIndex(0), PieceIndex(1), PieceIndex(2)])
        #expect(await restorer.verify(pieces) == [true, false, true])
    }

    @Test func recordedProgressComesWithItsDurableCheckpoint() async throws {
        let storage = try await Self.fixture.filledStorage()
        let store = MemoryResumeStore(pieceCount: 3)
        store.overwrite { state in
            state.verified = Bitfield(pattern: "110")!
            state.durableVerified = Bitfield(pattern: "100")!
        }
        let found = try await Self.restorer(storage, store: store).find()
        let recorded = try #require(found.recorded)
        #expect(recorded.state.verified == Bitfield(pattern: "110")!)
        #expect(recorded.durable.verified == Bitfield(pattern: "100")!)
        #expect(!found.findings.checkedDataOnDisk)
        #expect(found.findings.verified.contains(0) && found.findings.verified.contains(1))
    }
}
