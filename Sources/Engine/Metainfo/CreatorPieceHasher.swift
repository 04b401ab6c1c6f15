import Crypto
import Foundation

/// SHA-1 piece hashes of a list of files read as one byte stream, computed on several threads.
///
/// The pieces are split into contiguous runs, a few per thread, run with `concurrentPerform`; each
/// run reads its pieces with `pread` into one piece-sized buffer, so memory stays at one piece per
/// thread whatever the content size.
struct CreatorPieceHasher {
    let files: [CreatorContent.File]
    let pieceLength: Int
    let totalLength: Int64
    /// Stream offset of each file.
    private let offsets: [Int64]

    init(files: [CreatorContent.File], pieceLength: Int, totalLength: Int64) {
        self.files = files
        self.pieceLength = pieceLength
        self.totalLength = totalLength
        var offsets: [Int64] = []
        var offset: Int64 = 0
        for file in files {
            offsets.append(offset)
            offset += file.length
        }
        self.offsets = offsets
    }

    var pieceCount: Int { Int((totalLength + Int64(pieceLength) - 1) / Int64(pieceLength)) }

    /// The concatenated 20-byte hashes of every piece.
    func hashAll(threads: Int) throws -> [UInt8] {
        let pieceCount = self.pieceCount
        let runCount = min(pieceCount, threads * 4)
        let output = DigestBuffer(count: pieceCount * 20)
        defer { output.deallocate() }
        let failure = FirstFailure()
        DispatchQueue.concurrentPerform(iterations: runCount) { run in
            let first = pieceCount * run / runCount
            let end = pieceCount * (run + 1) / runCount
            do {
                try hash(pieces: first..<end, into: output)
            } catch {
                failure.record(error)
            }
        }
        if let error = failure.error { throw error }
        return output.bytes
    }

    /// Hashes `pieces` in order, reading each with as few `pread` calls as there are files in it.
    private func hash(pieces: Range<Int>, into output: DigestBuffer) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceLength, alignment: 16)
        defer { buffer.deallocate() }
        var reader = FileReader()
        defer { reader.close() }
        for piece in pieces {
            let start = Int64(piece) * Int64(pieceLength)
            let length = Int(min(Int64(pieceLength), totalLength - start))
            var filled = 0
            var fileIndex = firstFile(containing: start)
            while filled < length {
                let file = files[fileIndex]
                let position = start + Int64(filled) - offsets[fileIndex]
                let count = Int(min(Int64(length - filled), file.length - position))
                if count > 0 {
                    try reader.read(
                        file, at: position,
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + count]))
                    filled += count
                }
                fileIndex += 1
            }
            let digest = Insecure.SHA1.hash(data: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            output.store(digest, at: piece * 20)
        }
    }

    /// The index of the file holding stream byte `offset` (the last one starting at or before it,
    /// skipping empty files that start there too).
    private func firstFile(containing offset: Int64) -> Int {
        var low = 0
        var high = files.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if offsets[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        // Several files can start at `offset` when some are empty; the loop above found the last
        // of them, which is the one holding the byte (or an empty one the reader skips).
        return low
    }
}

/// One open file at a time, read with `pread`.
struct FileReader {
    private var location: String?
    private var descriptor: Int32 = -1

    mutating func read(
        _ file: CreatorContent.File, at position: Int64, into buffer: UnsafeMutableRawBufferPointer
    ) throws {
        if location != file.location {
            close()
            descriptor = open(file.location, O_RDONLY)
            guard descriptor >= 0 else {
                throw TorrentCreatorError(
                    .readFailed, "cannot open \(file.location): \(String(cString: strerror(errno)))")
            }
            location = file.location
        }
        var done = 0
        while done < buffer.count {
            let result = pread(
                descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(position) + off_t(done))
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                let reason = result < 0 ? String(cString: strerror(errno)) : "it got shorter while being hashed"
                throw TorrentCreatorError(.readFailed, "cannot read \(file.location): \(reason)")
            }
            done += result
        }
    }

    mutating func close() {
        if descriptor >= 0 { closeDescriptor(descriptor) }
        descriptor = -1
        location = nil
    }
}

/// The C `close`, out of reach of `FileReader.close()`'s name.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// The output of the hashing threads.
///
/// `@unchecked Sendable` invariant: every piece's 20 bytes are written by exactly one thread (the
/// runs are disjoint), and the buffer is read only after `concurrentPerform` has returned.
/// (``CreatorMerkleHasher`` shares it under the same rule.)
final class DigestBuffer: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<UInt8>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0)
    }

    func store(_ digest: some ContiguousBytes, at offset: Int) {
        digest.withUnsafeBytes { bytes in
            for index in 0..<bytes.count { storage[offset + index] = bytes[index] }
        }
    }

    /// The `count` bytes at `offset`.
    func bytes(at offset: Int, count: Int) -> [UInt8] { Array(storage[offset..<offset + count]) }

    var bytes: [UInt8] { Array(storage) }

    func deallocate() { storage.deallocate() }
}

/// The first error any thread ran into. `@unchecked Sendable`: every access holds the lock.
final class FirstFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?

    func record(_ error: any Error) {
        lock.withLock { if stored == nil { stored = error } }
    }

    var error: (any Error)? { lock.withLock { stored } }
}
