/// Bounds applied while parsing a `.torrent` file (or metadata fetched from peers). The defaults
/// accept every real torrent while refusing inputs built to exhaust memory or time: with them, any
/// input is accepted or refused in time and memory linear in its size.
///
/// Paths are bounded as Linux file systems bound them: an element longer than 255 bytes is cut
/// (``PathSanitizer``), a whole path of more than ``maxPathBytes`` bytes or ``maxPathDepth``
/// elements is refused. Lists that only give hints (trackers, web seeds, DHT nodes, BEP 38 lists)
/// keep their first ``maxListEntries`` entries; longer texts (`comment`, `created by`) are cut.
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
    /// Maximum number of files a torrent describes, pad files of a v1 list included (250,000: the
    /// largest real torrents hold about 100,000).
    public var maxFiles: Int
    /// Maximum number of elements of a file's path or symlink target, the torrent's folder
    /// included (256).
    public var maxPathDepth: Int
    /// Maximum length of a file's path or symlink target once sanitized, elements joined with `/`
    /// and the torrent's folder included, in UTF-8 bytes (4096, Linux's `PATH_MAX`).
    public var maxPathBytes: Int
    /// Trackers, web seeds, DHT nodes, collections and similar torrents kept, each (1000); the
    /// others are ignored.
    public var maxListEntries: Int
    /// `comment` and `created by` are cut to this many UTF-8 bytes (64 KiB).
    public var maxTextBytes: Int

    /// Creates limits.
    public init(
        decoder: BencodeDecoder.Limits = .default, maxPieces: Int = 1 << 21, maxPieceLength: Int = 1 << 29,
        maxFileLength: Int64 = (Int64(1) << 44) - 16384 - 1, maxDuplicateRenames: Int = 100,
        maxFiles: Int = 250_000, maxPathDepth: Int = 256, maxPathBytes: Int = 4096, maxListEntries: Int = 1000,
        maxTextBytes: Int = 64 << 10
    ) {
        self.decoder = decoder
        self.maxPieces = maxPieces
        self.maxPieceLength = maxPieceLength
        self.maxFileLength = maxFileLength
        self.maxDuplicateRenames = maxDuplicateRenames
        self.maxFiles = maxFiles
        self.maxPathDepth = maxPathDepth
        self.maxPathBytes = maxPathBytes
        self.maxListEntries = maxListEntries
        self.maxTextBytes = maxTextBytes
    }

    /// The defaults.
    public static let `default` = MetainfoLimits()
}
