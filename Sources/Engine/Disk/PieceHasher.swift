import Crypto

/// SHA-1 of piece data held in memory, and lookups in a torrent's concatenated piece hashes.
public enum PieceHasher {
    /// Buffers at least this large are hashed on an executor thread instead of the caller's.
    public static let offloadThreshold = 64 * 1024

    /// The SHA-1 of `bytes`. Large buffers are hashed on `executor`, keeping the cooperative pool free.
    public static func sha1(
        _ bytes: [UInt8], executor: any BlockingExecutor = NIOBlockingExecutor()
    ) async throws -> PieceDigest {
        guard bytes.count >= offloadThreshold else { return PieceDigest.sha1(of: bytes) }
        return try await executor.run { PieceDigest.sha1(of: bytes) }
    }

    /// The SHA-1 of a piece in `buffer`, computed on `executor`'s threads.
    public static func sha1(
        _ buffer: PieceBuffer, executor: any BlockingExecutor = NIOBlockingExecutor()
    ) async throws
        -> PieceDigest
    {
        try await executor.run { PieceDigest.sha1(of: buffer.readable) }
    }

    /// The 20 expected bytes of `piece` in `pieceHashes` (the v1 `pieces` string, or a slice of the
    /// torrent's bytes holding it: counted from its `startIndex`).
    ///
    /// - Precondition: `pieceHashes` holds an entry for `piece`.
    public static func expected(_ piece: PieceIndex, in pieceHashes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let offset = piece.value * Insecure.SHA1.byteCount
        precondition(piece.value >= 0 && offset + Insecure.SHA1.byteCount <= pieceHashes.count, "no hash for \(piece)")
        let start = pieceHashes.startIndex + offset
        return pieceHashes[start..<start + Insecure.SHA1.byteCount]
    }

    /// The 20 expected bytes of `piece` in `pieceHashes`.
    public static func expected(_ piece: PieceIndex, in pieceHashes: [UInt8]) -> ArraySlice<UInt8> {
        expected(piece, in: pieceHashes[...])
    }

    /// True when `digest` equals the expected hash of `piece`.
    public static func matches(_ digest: PieceDigest, piece: PieceIndex, in pieceHashes: ArraySlice<UInt8>) -> Bool {
        digest.matches(expected(piece, in: pieceHashes))
    }

    /// True when `digest` equals the expected hash of `piece`.
    public static func matches(_ digest: PieceDigest, piece: PieceIndex, in pieceHashes: [UInt8]) -> Bool {
        matches(digest, piece: piece, in: pieceHashes[...])
    }
}
