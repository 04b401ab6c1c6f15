/// Bounds applied while parsing a `.torrent` file. The defaults match the reference client's and
/// accept every real torrent while refusing inputs built to exhaust memory or time.
public struct MetainfoLimits: Hashable, Sendable {
    /// Limits of the bencode decoder (depth 100, 3,000,000 values, 64 MiB).
    public var decoder: BencodeDecoder.Limits
    /// Maximum number of pieces (2^21, about 2 million).
    public var maxPieces: Int
    /// Maximum piece length (512 MiB).
    public var maxPieceLength: Int
    /// Maximum length of one file: just under 16 TiB (2^30 - 1 blocks of 16 KiB), so block and
    /// merkle indices fit in 32 bits.
    public var maxFileLength: Int64
    /// Maximum number of files that may be renamed because their paths collide.
    public var maxDuplicateRenames: Int

    /// Creates limits.
    public init(
        decoder: BencodeDecoder.Limits = .default, maxPieces: Int = 1 << 21, maxPieceLength: Int = 1 << 29,
        maxFileLength: Int64 = (Int64(1) << 44) - 16384 - 1, maxDuplicateRenames: Int = 100
    ) {
        self.decoder = decoder
        self.maxPieces = maxPieces
        self.maxPieceLength = maxPieceLength
        self.maxFileLength = maxFileLength
        self.maxDuplicateRenames = maxDuplicateRenames
    }

    /// The defaults.
    public static let `default` = MetainfoLimits()
}
