import Crypto

/// The 20-byte SHA-1 of a piece (BitTorrent v1), as a plain value that can cross concurrency domains.
public struct PieceDigest: Hashable, Sendable, CustomStringConvertible {
    /// The 20 bytes.
    public let bytes: [UInt8]

    /// Wraps 20 bytes; `nil` for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Insecure.SHA1.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Wraps a digest computed by swift-crypto.
    public init(_ digest: Insecure.SHA1Digest) {
        self.bytes = Array(digest)
    }

    /// The SHA-1 of `bytes`.
    public static func sha1(of bytes: [UInt8]) -> PieceDigest {
        PieceDigest(Insecure.SHA1.hash(data: bytes))
    }

    /// The SHA-1 of the memory `bytes`.
    public static func sha1(of bytes: UnsafeRawBufferPointer) -> PieceDigest {
        var hasher = Insecure.SHA1()
        hasher.update(bufferPointer: bytes)
        return PieceDigest(hasher.finalize())
    }

    /// True when the digest equals `expected` (for example a slice of the torrent's `pieces`).
    public func matches(_ expected: some Collection<UInt8>) -> Bool { bytes.elementsEqual(expected) }

    /// Lower-case hexadecimal, 40 digits.
    public var description: String { HexCoding.encode(bytes) }
}
