import Foundation
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5)))
struct PieceVerifierTests {
    /// Writes the sample torrent's files straight to disk (not through a storage).
    static func writeTree(in folder: String, skipping skipped: Set<Int> = []) throws {
        for (index, file) in SampleTorrent.files.enumerated() where !file.isPad && !skipped.contains(index) {
            let path = folder + "/" + file.path.joined(separator: "/")
            try FileManager.default.createDirectory(
                atPath: folder + "/" + file.path.dropLast().joined(separator: "/"), withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(SampleTorrent.file(index))))
        }
    }

    static let verifier = PieceVerifier(
        layout: SampleTorrent.layout, pieceHashes: SampleTorrent.pieceHashes, concurrency: 3)

    @Test func aCompleteTreeVerifies() async throws {
        try await withTemporaryFolder { folder in
            try Self.writeTree(in: folder)
            let storage = FileStorage(saveFolder: folder, files: SampleTorrent.files, layout: SampleTorrent.layout)
            let counter = Counter()
            let report = await Self.verifier.verify(storage) { checked, total in
                counter.record(checked: checked, total: total)
            }
            #expect(report.valid == [true, true, true, true, true])
            #expect(report.validCount == 5 && report.checkedCount == 5)
            #expect(report.failures.isEmpty)
            #expect(counter.calls == 5 && counter.last == 5)
            await storage.close()
        }
    }

    @Test func corruptAndMissingDataIsFound() async throws {
        try await withTemporaryFolder { folder in
            // Without c.bin (pieces 2-4); one flipped byte in b.bin at 30,000 (stream 40,000: piece 1).
            try Self.writeTree(in: folder, skipping: [4])
            let handle = try #require(FileHandle(forUpdatingAtPath: folder + "/t/sub/b.bin"))
            try handle.seek(toOffset: 30_000)
            try handle.write(contentsOf: Data([0x55]))
            try handle.close()
            let storage = FileStorage(saveFolder: folder, files: SampleTorrent.files, layout: SampleTorrent.layout)
            let report = await Self.verifier.verify(storage)
            #expect(report.valid == [true, false, false, false, false])
            #expect(report.validPieces == [0])
            #expect(report.failures.keys.sorted() == [2, 3, 4])
            #expect(report.failures.values.allSatisfy { $0.reason == .missingFile })
            await storage.close()
        }
    }

    @Test func checksOnlyTheGivenPiecesOfAnyBackend() async throws {
        let storage = MemoryStorage(files: SampleTorrent.files, layout: SampleTorrent.layout)
        try await storage.prepare()
        for piece: PieceIndex in [1, 3] {
            try await storage.write(piece: piece, begin: 0, bytes: SampleTorrent.piece(piece))
        }
        let report = await Self.verifier.verify(storage, pieces: [1, 2, 3])
        #expect(report.valid == [false, true, false, true, false])
        #expect(report.checkedCount == 3)
    }

    @Test func largeBuffersHashOffThePool() async throws {
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let digest = try await PieceHasher.sha1(bytes)
        #expect(digest == PieceDigest.sha1(of: bytes))
        #expect(try await PieceHasher.sha1([]).description == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }
}

/// Progress callback recorder.
private final class Counter: @unchecked Sendable {
    // Invariant: fields are only touched while `lock` is held.
    private let lock = NSLock()
    private var storedCalls = 0
    private var storedLast = 0
    var calls: Int { lock.withLock { storedCalls } }
    var last: Int { lock.withLock { storedLast } }
    func record(checked: Int, total: Int) {
        lock.withLock {
            storedCalls += 1
            storedLast = checked
        }
    }
}
