import Glibc
import Testing

@testable import Engine

/// The positioned writes and reads under the storage: a write longer than one call's share goes out in
/// several calls, each at its own offset, and reads back the same.
@Suite struct POSIXFileTests {
    @Test(arguments: [1, POSIXFile.writeChunk - 1, POSIXFile.writeChunk, 2 * POSIXFile.writeChunk + 4_321])
    func writesOfAnyLengthReadBackAtTheirOffset(length: Int) async throws {
        try await withTemporaryFolder { folder in
            let descriptor = open(folder + "/f", O_RDWR | O_CREAT, 0o644)
            try #require(descriptor >= 0)
            defer { close(descriptor) }
            let offset: Int64 = 12_345
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            let failure = bytes.withUnsafeBytes { POSIXFile.writeAll(descriptor, $0, at: offset) }
            #expect(failure == nil)
            var info = stat()
            #expect(fstat(descriptor, &info) == 0)
            #expect(Int64(info.st_size) == offset + Int64(length))
            var back = [UInt8](repeating: 0, count: length)
            let result = back.withUnsafeMutableBytes { POSIXFile.readAll(descriptor, $0, at: offset) }
            guard case .complete = result else {
                Issue.record("read back: \(result)")
                return
            }
            #expect(back == bytes)
            // The gap before the offset is a hole that reads as zeros.
            var gap = [UInt8](repeating: 0xFF, count: Int(offset))
            _ = gap.withUnsafeMutableBytes { POSIXFile.readAll(descriptor, $0, at: 0) }
            #expect(gap.allSatisfy { $0 == 0 })
        }
    }
}
