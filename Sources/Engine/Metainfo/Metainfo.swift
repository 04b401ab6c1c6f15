/// Which BitTorrent protocol versions a torrent's metainfo describes.
public enum MetainfoVersion: String, Sendable, Codable {
    /// BEP 3 only: `pieces` and `length`/`files`.
    case v1
    /// BEP 52 only: `meta version` 2 and a `file tree`.
    case v2
    /// Both descriptions of the same content, with both info-hashes.
    case hybrid
}

/// One file of a torrent, in the order of the torrent's byte stream.
public struct TorrentFile: Hashable, Sendable {
    /// Attribute flags of BEP 47 (`attr`).
    public struct Attributes: OptionSet, Hashable, Sendable {
        /// The raw bits.
        public let rawValue: UInt8
        /// Wraps raw bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// `p`: a pad file. Its bytes are zeros and it is never written to disk.
        public static let pad = Attributes(rawValue: 1 << 0)
        /// `x`: executable.
        public static let executable = Attributes(rawValue: 1 << 1)
        /// `h`: hidden.
        public static let hidden = Attributes(rawValue: 1 << 2)
        /// `l`: a symbolic link to ``TorrentFile/symlinkTarget``; it has no bytes.
        public static let symlink = Attributes(rawValue: 1 << 3)
    }

    /// The sanitized path below the download folder, its elements joined with `/`; no element is empty,
    /// `.`, `..` or holds `/`, `\` or NUL. For a multi-file torrent the first element is the torrent's
    /// (sanitized) name. One string per file rather than an array of them: for a torrent of 250,000
    /// files the arrays were a third of what parsing it held.
    public var relativePath: String
    /// The elements of ``relativePath`` (never empty); built on each call.
    public var path: [String] {
        get { relativePath.pathElements }
        set { relativePath = newValue.joined(separator: "/") }
    }
    /// Length in bytes (0 for empty files and symlinks).
    public var length: Int64
    /// Offset of the file's first byte in the torrent's byte stream (v1 layout, including pad files).
    public var offset: Int64
    /// BEP 47 attributes.
    public var attributes: Attributes
    /// For a symlink: the sanitized target path below the download folder.
    public var symlinkTarget: [String]?
    /// BEP 52 `pieces root` (32 bytes) of a v2 file that has one.
    public var piecesRoot: [UInt8]?

    /// Creates a file entry.
    public init(
        path: [String], length: Int64, offset: Int64, attributes: Attributes = [], symlinkTarget: [String]? = nil,
        piecesRoot: [UInt8]? = nil
    ) {
        self.init(
            relativePath: path.joined(separator: "/"), length: length, offset: offset, attributes: attributes,
            symlinkTarget: symlinkTarget, piecesRoot: piecesRoot)
    }

    /// Creates a file entry from its path joined with `/` (see ``relativePath``).
    public init(
        relativePath: String, length: Int64, offset: Int64, attributes: Attributes = [],
        symlinkTarget: [String]? = nil, piecesRoot: [UInt8]? = nil
    ) {
        self.relativePath = relativePath
        self.length = length
        self.offset = offset
        self.attributes = attributes
        self.symlinkTarget = symlinkTarget
        self.piecesRoot = piecesRoot
    }

    /// True for BEP 47 pad files, which are never written to disk.
    public var isPad: Bool { attributes.contains(.pad) }
    /// The path joined with `/`, for display.
    public var displayPath: String { relativePath }
    /// The last element of the path: the file's own name.
    public var name: Substring {
        let utf8 = relativePath.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return relativePath[...] }
        return Substring(utf8[utf8.index(after: slash)...])
    }
    /// Calls `body` with each element of the path before the file's own name (the folders it is in), as
    /// slices of ``relativePath``: nothing is copied.
    public func forEachFolder(_ body: (Substring) throws -> Void) rethrows {
        let utf8 = relativePath.utf8
        var start = utf8.startIndex
        while let slash = utf8[start...].firstIndex(of: UInt8(ascii: "/")) {
            try body(Substring(utf8[start..<slash]))
            start = utf8.index(after: slash)
        }
    }
}

/// A parsed, validated `.torrent` file.
///
/// Everything here is already checked and sanitized: paths stay inside the download folder, piece
/// counts agree with the total length, and the info-hashes are computed over the info dictionary's
/// original bytes (never a re-encoding).
public struct Metainfo: Sendable {
    /// v1, v2 or hybrid.
    public var version: MetainfoVersion
    /// The info-hash(es).
    public var infoHashes: InfoHashes
    /// The sanitized torrent name (also the top folder of a multi-file torrent).
    public var name: String
    /// True when the info dictionary has `files` (v1) or a `file tree` with more than one entry or a
    /// folder (v2): the content goes into a folder named ``name``.
    public var isMultiFile: Bool
    /// Piece length in bytes.
    public var pieceLength: Int
    /// Number of pieces.
    public var pieceCount: Int
    /// The concatenated 20-byte SHA-1 piece hashes (v1 and hybrid), `pieceCount * 20` bytes: when parsed,
    /// a slice of ``torrentBytes`` (no copy: a torrent of 65,536 pieces would otherwise hold its 1.25 MiB
    /// of hashes twice for as long as it runs, since the session keeps the bytes to serve its metadata).
    /// Its indices are those of the bytes it slices: index it from `startIndex`.
    public var pieceHashes: ArraySlice<UInt8>?
    /// BEP 52 `piece layers`: pieces root -> concatenated 32-byte hashes (v2 and hybrid).
    public var pieceLayers: [[UInt8]: [UInt8]]
    /// The files in stream order, pad files included (stored compactly: see ``TorrentFiles``).
    public var files: TorrentFiles
    /// Total length of the byte stream (sum of all file lengths, pad files included).
    public var totalLength: Int64
    /// Tracker tiers (BEP 12): `announce-list`, or `[[announce]]`; URLs trimmed, empty tiers dropped.
    public var trackerTiers: [[String]]
    /// Web seeds (BEP 19 `url-list`), deduplicated.
    public var webSeeds: [String]
    /// BEP 27 private flag.
    public var isPrivate: Bool
    /// `creation date` (seconds since 1970), when present.
    public var creationDate: Int64?
    /// `comment`, when present.
    public var comment: String?
    /// `created by`, when present.
    public var createdBy: String?
    /// The exact bytes of the info dictionary (what the info-hashes are computed over): a copy of
    /// ``infoByteSlice``, made on each call.
    public var infoBytes: [UInt8] {
        get { Array(infoByteSlice) }
        set { infoByteSlice = newValue[...] }
    }
    /// The exact bytes of the info dictionary, as a slice of ``torrentBytes`` when parsed (no copy).
    public var infoByteSlice: ArraySlice<UInt8>
    /// The exact bytes of the whole `.torrent` file as given.
    public var torrentBytes: [UInt8]
    /// DHT bootstrap nodes from `nodes` (BEP 5), as `host:port` (`[v6]:port` for IPv6).
    public var dhtNodes: [String] = []
    /// BEP 38 `collections` this torrent belongs to (from the info dictionary and the top level).
    public var collections: [String] = []
    /// BEP 38 `similar` torrents: v1 info-hashes of torrents sharing files with this one.
    public var similarTorrents: [InfoHashV1] = []

    /// Memberwise initializer (the parser builds values through it).
    public init(
        version: MetainfoVersion, infoHashes: InfoHashes, name: String, isMultiFile: Bool, pieceLength: Int,
        pieceCount: Int, pieceHashes: ArraySlice<UInt8>?, pieceLayers: [[UInt8]: [UInt8]], files: TorrentFiles,
        totalLength: Int64, trackerTiers: [[String]], webSeeds: [String], isPrivate: Bool, creationDate: Int64?,
        comment: String?, createdBy: String?, infoBytes: [UInt8], torrentBytes: [UInt8]
    ) {
        self.version = version
        self.infoHashes = infoHashes
        self.name = name
        self.isMultiFile = isMultiFile
        self.pieceLength = pieceLength
        self.pieceCount = pieceCount
        self.pieceHashes = pieceHashes
        self.pieceLayers = pieceLayers
        self.files = files
        self.totalLength = totalLength
        self.trackerTiers = trackerTiers
        self.webSeeds = webSeeds
        self.isPrivate = isPrivate
        self.creationDate = creationDate
        self.comment = comment
        self.createdBy = createdBy
        self.infoByteSlice = infoBytes[...]
        self.torrentBytes = torrentBytes
    }
}

/// A parsed magnet URI (BEP 9, BEP 52).
public struct MagnetLink: Hashable, Sendable {
    /// `xt=urn:btih:` (hex or base32) and/or `xt=urn:btmh:1220...`.
    public var infoHashes: InfoHashes
    /// `dn`, percent-decoded.
    public var displayName: String?
    /// `tr` parameters, in order, deduplicated.
    public var trackers: [String]
    /// `ws` parameters.
    public var webSeeds: [String]
    /// `x.pe` peer addresses (`host:port`, `[v6]:port`).
    public var peers: [String]
    /// The URI as given.
    public var uri: String

    /// Memberwise initializer.
    public init(
        infoHashes: InfoHashes, displayName: String?, trackers: [String], webSeeds: [String], peers: [String],
        uri: String
    ) {
        self.infoHashes = infoHashes
        self.displayName = displayName
        self.trackers = trackers
        self.webSeeds = webSeeds
        self.peers = peers
        self.uri = uri
    }
}
