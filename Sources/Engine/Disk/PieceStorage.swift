import Crypto
import NIOCore

/// The port through which a torrent reads and writes its data: blocks addressed by piece and offset,
/// mapped by the backend onto files (``FileStorage``), memory (``MemoryStorage``), or anything else.
///
/// Implementations never touch bytes of pad files (reads return zeros, writes skip them) and never
/// resolve a path outside their download folder. Failures are ``StorageError``s.
public protocol PieceStorage: Sendable {
    /// The piece geometry of the torrent.
    var layout: PieceLayout { get }

    /// Creates the folders and files of the torrent with their final sizes (sparse where the file
    /// system allows). Existing data is kept. Pad files are never created. Idempotent.
    func prepare() async throws

    /// Writes `bytes` into `piece` starting at byte `begin` of the piece.
    ///
    /// - Precondition: the range lies inside the piece.
    func write(piece: PieceIndex, begin: Int, bytes: [UInt8]) async throws

    /// Writes a whole piece from `buffer` (the default copies it into an array for
    /// ``write(piece:begin:bytes:)``; file storage writes straight from it).
    ///
    /// - Precondition: `buffer` holds exactly the piece's length.
    func write(piece: PieceIndex, from buffer: PieceBuffer) async throws

    /// Hashes the piece in `buffer` and writes it only when its SHA-1 equals `expected`; returns whether
    /// it did. File storage does both in one job on its threads (one hand-over instead of two per piece).
    ///
    /// - Precondition: `buffer` holds exactly the piece's length.
    func writeIfVerified(piece: PieceIndex, from buffer: PieceBuffer, expected: [UInt8]) async throws -> Bool

    /// Hashes each piece of `batch` and writes those that match (every one without an expected hash),
    /// all in one job: file storage writes runs of contiguous pieces in one call each. Returns whether
    /// each piece matched; a failed write throws for the whole batch.
    ///
    /// - Precondition: each buffer holds exactly its piece's length.
    func writeIfVerified(_ batch: [PieceWrite]) async throws -> [Bool]

    /// Reads `length` bytes of `piece` starting at byte `begin` of the piece.
    ///
    /// - Precondition: the range lies inside the piece.
    func read(piece: PieceIndex, begin: Int, length: Int) async throws -> [UInt8]

    /// Reads `length` bytes of `piece` starting at byte `begin` of the piece into a `ByteBuffer`, for
    /// uploads (the default copies ``read(piece:begin:length:)``; file storage reads straight into it):
    /// into the buffer `reusing` holds when given (cleared first; a buffer whose storage is shared with
    /// slices still in use is copied on write, so they keep their bytes), else into a new one.
    ///
    /// - Precondition: the range lies inside the piece.
    func readBuffer(piece: PieceIndex, begin: Int, length: Int, reusing: ReusableBuffer?) async throws -> ByteBuffer

    /// Reads `piece` back from storage and returns its SHA-1, computed off the cooperative pool.
    func hashPiece(_ piece: PieceIndex) async throws -> PieceDigest

    /// Makes everything written so far durable (`fdatasync` of each file written since the last
    /// flush).
    func flush() async throws

    /// Makes the next ``flush()`` also sync the data of `pieces`, which this storage did not write: an
    /// earlier process wrote it and stopped before syncing it, and the journal still trusts it.
    func requireSync(of pieces: [PieceIndex]) async

    /// Starts writing out, without waiting, what was written since the last call (write-behind), and
    /// lets go of cached data already written out, so the next ``flush()`` has little left to wait for
    /// and a download does not fill the page cache. Errors surface at the next ``flush()``.
    func startWriteback() async

    /// Releases open files. Later calls fail with ``StorageError/Reason/closed``.
    func close() async

    /// The size and modification time of each existing data file, for the check at start; `nil` for a
    /// backend without files (nothing to check).
    func currentFileStats() async -> [FileIndex: FileStat]?

    /// The sizes and modification times of the files written since the previous call (for the journal).
    func takeWrittenFileStats() async throws -> [FileStat]
}

extension PieceStorage {
    /// No files: nothing to check at start.
    public func currentFileStats() async -> [FileIndex: FileStat]? { nil }

    /// No files: nothing to record.
    public func takeWrittenFileStats() async throws -> [FileStat] { [] }

    /// Nothing buffered by a kernel: nothing to start.
    public func startWriteback() async {}

    /// Nothing buffered by a kernel: nothing to sync.
    public func requireSync(of pieces: [PieceIndex]) async {}

    public func write(piece: PieceIndex, from buffer: PieceBuffer) async throws {
        try await write(piece: piece, begin: 0, bytes: Array(buffer.readable))
    }

    public func writeIfVerified(piece: PieceIndex, from buffer: PieceBuffer, expected: [UInt8]) async throws -> Bool {
        guard try await PieceHasher.sha1(buffer).matches(expected) else { return false }
        try await write(piece: piece, from: buffer)
        return true
    }

    public func writeIfVerified(_ batch: [PieceWrite]) async throws -> [Bool] {
        var matches: [Bool] = []
        for write in batch {
            if let expected = write.expected {
                matches.append(try await writeIfVerified(piece: write.piece, from: write.buffer, expected: expected))
            } else {
                try await self.write(piece: write.piece, from: write.buffer)
                matches.append(true)
            }
        }
        return matches
    }

    public func readBuffer(
        piece: PieceIndex, begin: Int, length: Int, reusing: ReusableBuffer?
    ) async throws -> ByteBuffer {
        ByteBuffer(bytes: try await read(piece: piece, begin: begin, length: length))
    }

    /// Writes the block a request names.
    public func write(_ request: BlockRequest, bytes: [UInt8]) async throws {
        precondition(bytes.count == Int(request.length), "block length \(bytes.count) differs from \(request)")
        try await write(piece: request.piece, begin: Int(request.begin), bytes: bytes)
    }

    /// Reads the block a request names.
    public func read(_ request: BlockRequest) async throws -> [UInt8] {
        try await read(piece: request.piece, begin: Int(request.begin), length: Int(request.length))
    }

    /// Reads a whole piece.
    public func read(piece: PieceIndex) async throws -> [UInt8] {
        try await read(piece: piece, begin: 0, length: layout.length(of: piece))
    }

    /// Hashes `piece` from storage and compares the digest with the 20 bytes `expected`.
    public func verifyPiece(_ piece: PieceIndex, expected: some Collection<UInt8>) async throws -> Bool {
        try await hashPiece(piece).matches(expected)
    }
}

/// A whole piece to write in a batch (``PieceStorage/writeIfVerified(_:)``), and the SHA-1 it must have
/// (`nil`: written unchecked).
public struct PieceWrite: Sendable {
    public let piece: PieceIndex
    public let buffer: PieceBuffer
    public let expected: [UInt8]?

    public init(piece: PieceIndex, buffer: PieceBuffer, expected: [UInt8]?) {
        self.piece = piece
        self.buffer = buffer
        self.expected = expected
    }
}
