import Foundation

/// Makes a v1, v2 (BEP 52) or hybrid `.torrent` file of a file or a folder.
///
/// - A regular file gives a single-file torrent named after it; a folder gives a multi-file torrent
///   of every regular file below it, in a deterministic order: sorted by path, element by element,
///   comparing UTF-8 bytes. Empty files are included (they take no bytes in the stream).
/// - Symbolic links inside the folder are skipped, never followed: following them could pull in
///   files from outside the folder or loop, and writing them as BEP 47 symlinks is not supported
///   yet. Sockets, pipes and devices are skipped too. (A symlink given as the source itself is
///   followed: the user named it.) Empty folders cannot be expressed in a v1 torrent and vanish.
/// - Pieces are hashed on all cores (``Options/threads``), reading with `pread` into one
///   piece-sized buffer per worker, never the whole content: SHA-1 for v1 (``CreatorPieceHasher``),
///   SHA-256 merkle trees for v2 and both in one read for hybrid (``CreatorMerkleHasher``).
/// - The output is canonical bencode with the standard keys (`announce`, `announce-list`, `comment`,
///   `created by`, `creation date`, `info` {`files`|`length`, `name`, `piece length`, `pieces`,
///   `private`}, `url-list`), so any client computes the same info-hash.
/// - v2 adds `meta version` 2 and the `file tree` (each non-empty file with its `pieces root`) to
///   the info dictionary and `piece layers` (for files longer than a piece) beside it. A hybrid
///   keeps the v1 keys too, with a BEP 47 pad file (`attr` `p`, path `.pad/<length>`) after every
///   non-empty file of a folder that does not end on a piece boundary, the last one included, so
///   that both descriptions put every file at the same offset; a single file keeps `length`. This is
///   the layout the reference client (libtorrent 2) writes, so both give the same info-hashes.
public struct TorrentCreator: Sendable {
    /// What to put in the torrent besides the content.
    public struct Options: Sendable {
        /// Tracker tiers (BEP 12); the first URL also becomes `announce`.
        public var trackers: [[String]]
        /// Web seed URLs (BEP 19).
        public var webSeeds: [String]
        /// Piece length; `nil` picks one with ``TorrentCreator/automaticPieceLength(totalLength:)``.
        public var pieceLength: Int?
        /// BEP 27 private flag.
        public var isPrivate: Bool
        /// `comment`.
        public var comment: String?
        /// `created by`.
        public var createdBy: String?
        /// `creation date`, seconds since 1970; `nil` leaves it out.
        public var creationDate: Int64?
        /// The torrent's name; `nil` uses the last component of the source path.
        public var name: String?
        /// Hashing threads.
        public var threads: Int
        /// Which protocol versions the torrent describes.
        public var version: MetainfoVersion

        /// Creates options; by default no trackers, automatic piece length, created now by btq, all cores.
        public init(
            trackers: [[String]] = [], webSeeds: [String] = [], pieceLength: Int? = nil, isPrivate: Bool = false,
            comment: String? = nil, createdBy: String? = "btq",
            creationDate: Int64? = Int64(Date().timeIntervalSince1970), name: String? = nil,
            threads: Int = ProcessInfo.processInfo.activeProcessorCount, version: MetainfoVersion = .v1
        ) {
            self.trackers = trackers
            self.webSeeds = webSeeds
            self.pieceLength = pieceLength
            self.isPrivate = isPrivate
            self.comment = comment
            self.createdBy = createdBy
            self.creationDate = creationDate
            self.name = name
            self.threads = threads
            self.version = version
        }
    }

    /// The smallest piece length allowed (16 KiB).
    public static let minPieceLength = 16 * 1024
    /// The largest automatic piece length (16 MiB).
    public static let maxAutomaticPieceLength = 16 * 1024 * 1024
    /// The largest piece length accepted (512 MiB, the parser's limit).
    public static let maxPieceLength = 512 * 1024 * 1024
    /// The most pieces a torrent may have (the parser's limit).
    public static let maxPieces = 1 << 21

    /// The options in force.
    public var options: Options

    /// Creates a creator.
    public init(options: Options = Options()) {
        self.options = options
    }

    /// The piece length aiming at 1,000 to 2,000 pieces: the smallest power of two that gives at most
    /// 2,000 pieces, kept between 16 KiB and 16 MiB.
    public static func automaticPieceLength(totalLength: Int64) -> Int {
        var length = minPieceLength
        while length < maxAutomaticPieceLength, totalLength > Int64(length) * 2000 { length *= 2 }
        return length
    }

    /// Hashes the file or folder at `path` and returns the bytes of the `.torrent` file.
    ///
    /// - Throws: ``TorrentCreatorError``.
    public func create(from path: String) throws -> [UInt8] {
        let source = try CreatorContent.scan(path)
        let totalLength = source.files.reduce(Int64(0)) { $0 + $1.length }
        guard totalLength > 0 else {
            throw TorrentCreatorError(.emptyContent, "\(path) holds no data: every file is empty")
        }
        let pieceLength = try resolvedPieceLength(totalLength: totalLength)
        if options.version != .v1 { return try createV2(source: source, pieceLength: pieceLength) }
        let pieceCount = Int((totalLength + Int64(pieceLength) - 1) / Int64(pieceLength))
        guard pieceCount <= Self.maxPieces else {
            throw TorrentCreatorError(
                .tooManyPieces, "\(pieceCount) pieces of \(pieceLength) bytes are too many; choose larger pieces")
        }
        let hasher = CreatorPieceHasher(files: source.files, pieceLength: pieceLength, totalLength: totalLength)
        let pieces = try hasher.hashAll(threads: max(1, options.threads))
        return encode(source: source, name: options.name ?? source.name, pieceLength: pieceLength, pieces: pieces)
    }

    /// A v2 or hybrid torrent of `source`.
    private func createV2(source: CreatorContent, pieceLength: Int) throws -> [UInt8] {
        let hybrid = options.version == .hybrid
        let hasher = CreatorMerkleHasher(
            files: source.files, pieceLength: pieceLength, hybrid: hybrid, padsLastPiece: source.isFolder)
        guard hasher.pieceCount <= Self.maxPieces else {
            throw TorrentCreatorError(
                .tooManyPieces,
                "\(hasher.pieceCount) pieces of \(pieceLength) bytes are too many; choose larger pieces")
        }
        let hashes = try hasher.hashAll(threads: max(1, options.threads))
        let name = options.name ?? source.name

        // The file tree: folders are dictionaries of their entries, a file is `{"": {length, pieces root}}`.
        var tree = FileTreeNode()
        var layers: [[UInt8]: BencodeValue] = [:]
        var v1Files: [BencodeValue] = []
        for (file, hash) in zip(source.files, hashes.files) {
            var entry: [String: BencodeValue] = ["length": .integer(file.length)]
            if let root = hash.piecesRoot { entry["pieces root"] = .string(root) }
            if let root = hash.piecesRoot, !hash.pieceLayer.isEmpty { layers[root] = .string(hash.pieceLayer) }
            tree.insert(path: source.isFolder ? file.path : [name], leaf: .dictionary(entry))
            v1Files.append(
                .dictionary(["length": .integer(file.length), "path": .list(file.path.map(BencodeValue.text))]))
            let remainder = file.length % Int64(pieceLength)
            let pad = remainder == 0 ? 0 : Int64(pieceLength) - remainder
            if pad > 0 {
                v1Files.append(
                    .dictionary([
                        "attr": "p", "length": .integer(pad), "path": .list([".pad", .text(String(pad))]),
                    ]))
            }
        }
        var info: [String: BencodeValue] = [
            "file tree": tree.value,
            "meta version": 2,
            "name": .text(name),
            "piece length": .integer(Int64(pieceLength)),
        ]
        if hybrid, let pieces = hashes.v1Pieces {
            info["pieces"] = .string(pieces)
            if source.isFolder {
                info["files"] = .list(v1Files)
            } else {
                info["length"] = .integer(source.files[0].length)
            }
        }
        var extra: [String: BencodeValue] = [:]
        if !layers.isEmpty { extra["piece layers"] = .dictionary(layers) }
        return encode(info: info, extra: extra)
    }

    private func resolvedPieceLength(totalLength: Int64) throws -> Int {
        guard let length = options.pieceLength else { return Self.automaticPieceLength(totalLength: totalLength) }
        guard length >= Self.minPieceLength, length <= Self.maxPieceLength, length.nonzeroBitCount == 1 else {
            throw TorrentCreatorError(
                .invalidPieceLength, "the piece length \(length) is not a power of two between 16 KiB and 512 MiB")
        }
        return length
    }

    /// The canonical bencoding of the torrent.
    private func encode(source: CreatorContent, name: String, pieceLength: Int, pieces: [UInt8]) -> [UInt8] {
        var info: [String: BencodeValue] = [
            "name": .text(name),
            "piece length": .integer(Int64(pieceLength)),
            "pieces": .string(pieces),
        ]
        if source.isFolder {
            info["files"] = .list(
                source.files.map { file in
                    .dictionary(["length": .integer(file.length), "path": .list(file.path.map(BencodeValue.text))])
                })
        } else {
            info["length"] = .integer(source.files[0].length)
        }
        return encode(info: info)
    }

    /// The whole torrent around `info` (to which the private flag is added), with `extra` top-level keys.
    private func encode(info: [String: BencodeValue], extra: [String: BencodeValue] = [:]) -> [UInt8] {
        var info = info
        if options.isPrivate { info["private"] = 1 }

        var torrent: [String: BencodeValue] = extra
        torrent["info"] = .dictionary(info)
        let tiers = options.trackers.map { $0.filter { !$0.isEmpty } }.filter { !$0.isEmpty }
        if let first = tiers.first?.first { torrent["announce"] = .text(first) }
        if tiers.joined().count > 1 {
            torrent["announce-list"] = .list(tiers.map { .list($0.map(BencodeValue.text)) })
        }
        if !options.webSeeds.isEmpty { torrent["url-list"] = .list(options.webSeeds.map(BencodeValue.text)) }
        if let comment = options.comment { torrent["comment"] = .text(comment) }
        if let createdBy = options.createdBy { torrent["created by"] = .text(createdBy) }
        if let creationDate = options.creationDate { torrent["creation date"] = .integer(creationDate) }
        return BencodeEncoder().encode(.dictionary(torrent))
    }
}

/// A folder of a v2 `file tree` being built.
private struct FileTreeNode {
    var folders: [String: FileTreeNode] = [:]
    var files: [String: BencodeValue] = [:]

    mutating func insert(path: some Collection<String>, leaf: BencodeValue) {
        guard let first = path.first else { return }
        if path.count == 1 {
            files[first] = leaf
        } else {
            folders[first, default: FileTreeNode()].insert(path: path.dropFirst(), leaf: leaf)
        }
    }

    var value: BencodeValue {
        var entries: [String: BencodeValue] = [:]
        for (name, folder) in folders { entries[name] = folder.value }
        for (name, leaf) in files { entries[name] = .dictionary(["": leaf]) }
        return .dictionary(entries)
    }
}
