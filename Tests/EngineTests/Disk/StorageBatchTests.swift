import Foundation
import Glibc
import Testing

@testable import Engine

/// Small pieces stored in batches (``PieceStorage/writeIfVerified(_:)``): each piece hashed, the matching
/// ones written, runs of contiguous pieces in one call.
@Suite(.timeLimit(.minutes(5)))
struct StorageBatchTests {
    /// A buffer holding `bytes`.
    static func buffer(_ bytes: [UInt8]) -> PieceBuffer {
        let buffer = PieceBuffer(count: bytes.count)
        bytes.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
        return buffer
    }

    /// Every piece of the sample torrent (files, an empty file, a pad file, a short last piece) in one
    /// batch, out of order, one with a wrong hash and one unchecked: the matching and unchecked ones
    /// land in the right files, the wrong one is not written.
    @Test(arguments: StorageSuiteTests.Backend.allCases)
    func batchWritesMatchingPiecesOnly(_ backend: StorageSuiteTests.Backend) async throws {
        try await StorageSuiteTests.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            let bad = PieceIndex(2)
            let unchecked = PieceIndex(4)
            let writes = storage.layout.pieces.reversed().map { piece in
                let bytes = SampleTorrent.piece(piece)
                var expected = PieceDigest.sha1(of: bytes).bytes
                if piece == bad { expected[0] ^= 1 }
                return PieceWrite(
                    piece: piece, buffer: Self.buffer(bytes), expected: piece == unchecked ? nil : expected)
            }
            let matches = try await storage.writeIfVerified(writes)
            #expect(matches == writes.map { $0.piece != bad })
            for piece in storage.layout.pieces {
                let read = try await storage.read(piece: piece)
                if piece == bad {
                    // Only the pad's zeros and the files' unwritten (zero) bytes.
                    #expect(read == [UInt8](repeating: 0, count: read.count))
                } else {
                    #expect(read == SampleTorrent.piece(piece), "\(piece)")
                }
            }
        }
    }
}

extension FileStorageTests {
    /// Small pieces written in batches land in order, through the page cache, and leave it once written
    /// out (write-behind and drop-behind, as for whole pieces).
    @Test func smallPiecesInBatchesGoThroughThePageCache() async throws {
        try await withTemporaryFolder { folder in
            guard fileSystemType(of: folder) != "tmpfs" else { return }
            let pieceLength = PieceStoreBatches.batchedBelow / 4
            let length = 9 * pieceLength
            let content = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ ($0 >> 12)) }
            let storage = FileStorage(
                saveFolder: folder, files: makeFiles([("small.bin", Int64(length))]),
                layout: PieceLayout(pieceLength: pieceLength, totalLength: Int64(length)))
            try await storage.prepare()
            let writes = storage.layout.pieces.map { piece in
                let bytes = Array(content[piece.value * pieceLength..<(piece.value + 1) * pieceLength])
                return PieceWrite(
                    piece: piece, buffer: StorageBatchTests.buffer(bytes), expected: PieceDigest.sha1(of: bytes).bytes)
            }
            // Pieces 0 to 7 make one run; piece 8 comes alone in a later batch.
            #expect(try await storage.writeIfVerified(Array(writes[0..<8])) == Array(repeating: true, count: 8))
            #expect(try await storage.writeIfVerified([writes[8]]) == [true])
            #expect(try residentPages(folder + "/small.bin") == length / Int(getpagesize()), "written and cached")
            try await storage.flush()
            await storage.startWriteback()
            #expect(try residentPages(folder + "/small.bin") == 0, "dropped once written out")
            await storage.close()
            #expect(FileManager.default.contents(atPath: folder + "/small.bin").map(Array.init) == content)
        }
    }
}
