import Foundation
import Glibc
import Testing

@testable import Engine

/// What a start finds on disk when its journal recorded nothing: only the byte ranges a killed run wrote
/// hold data (`SEEK_DATA`/`SEEK_HOLE`), so only the pieces over them are hashed, never every piece of a
/// sparse file it created.
@Suite(.timeLimit(.minutes(5))) struct FileProbeTests {
    static let mebibyte = 1 << 20

    /// A sparse file of 8 MiB with 16 KiB written at `offsets`, in a fresh save folder.
    static func withSparseFile(
        writtenAt offsets: [Int], _ body: (_ storage: FileStorage) async throws -> Void
    ) async throws {
        try await withTemporaryFolder { save in
            let length = 8 * mebibyte
            let storage = FileStorage(
                saveFolder: save, files: makeFiles([("t/big.bin", Int64(length))]),
                layout: PieceLayout(pieceLength: 256 * 1024, totalLength: Int64(length)))
            try await storage.prepare()
            let descriptor = open(save + "/t/big.bin", O_RDWR)
            #expect(descriptor >= 0)
            #expect(ftruncate(descriptor, off_t(length)) == 0)
            let block = [UInt8](repeating: 0x5A, count: 16 * 1024)
            for offset in offsets {
                #expect(pwrite(descriptor, block, block.count, off_t(offset)) == block.count)
            }
            #expect(fsync(descriptor) == 0)
            close(descriptor)
            try await body(storage)
            await storage.close()
        }
    }

    @Test func onlyWrittenRangesHoldData() async throws {
        try await Self.withSparseFile(writtenAt: [0, 5 * Self.mebibyte + 4096]) { storage in
            let ranges = storage.dataRanges(FileIndex(0))
            #expect(ranges.count == 2, "\(ranges)")
            #expect(ranges.first?.contains(0) == true && ranges.first?.contains(16 * 1024 - 1) == true)
            #expect(ranges.last?.contains(Int64(5 * Self.mebibyte + 4096)) == true)
            // File systems allocate in blocks (and ext4 may round up further), never megabytes per write.
            let covered = ranges.reduce(0) { $0 + $1.count }
            #expect(covered < Self.mebibyte, "\(ranges)")
        }
    }

    @Test func aFileNothingWasWrittenToHoldsNoData() async throws {
        try await Self.withSparseFile(writtenAt: []) { storage in
            #expect(storage.dataRanges(FileIndex(0)).isEmpty)
            #expect(!storage.hasAllocatedData(FileIndex(0)))
        }
    }

    @Test func aFileWrittenThroughIsOneRange() async throws {
        try await Self.withSparseFile(writtenAt: stride(from: 0, to: 8 * Self.mebibyte, by: 16 * 1024).map { $0 }) {
            storage in
            #expect(storage.dataRanges(FileIndex(0)) == [0..<Int64(8 * Self.mebibyte)])
        }
    }

    @Test func overlapsFindsTheRangesAPieceTouches() {
        let ranges: [Range<Int64>] = [10..<20, 40..<50, 90..<100]
        #expect(RestoreFindings.overlaps(0..<11, ranges))
        #expect(!RestoreFindings.overlaps(0..<10, ranges))
        #expect(!RestoreFindings.overlaps(20..<40, ranges))
        #expect(RestoreFindings.overlaps(45..<46, ranges))
        #expect(RestoreFindings.overlaps(0..<1000, ranges))
        #expect(!RestoreFindings.overlaps(100..<200, ranges))
        #expect(!RestoreFindings.overlaps(0..<5, []))
    }
}
