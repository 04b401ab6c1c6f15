/// Why a `.torrent` file was refused.
///
/// ``category`` says what kind of fault it is (its names follow the reference client's error
/// categories, so conformance tests can compare them); ``message`` is a human sentence for the CLI.
public struct MetainfoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of fault, comparable with `==` (`error.category == .missingName`).
    public struct Category: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case invalidBencoding = "invalid_bencoding"
            case depthExceeded = "depth_exceeded"
            case tooLarge = "too_large"
            case isNotADictionary = "is_not_a_dictionary"
            case missingInfo = "missing_info"
            case missingName = "missing_name"
            case invalidName = "invalid_name"
            case missingPieceLength = "missing_piece_length"
            case missingPieces = "missing_pieces"
            case invalidHashes = "invalid_hashes"
            case invalidLength = "invalid_length"
            case noFiles = "no_files"
            case tooManyPieces = "too_many_pieces"
            case tooManyDuplicateFilenames = "too_many_duplicate_filenames"
            case unknownVersion = "unknown_version"
            case missingFileTree = "missing_file_tree"
            case missingMetaVersion = "missing_meta_version"
            case fileParseFailed = "file_parse_failed"
            case invalidPadFile = "invalid_pad_file"
            case missingPiecesRoot = "missing_pieces_root"
            case invalidPieceLayer = "invalid_piece_layer"
            case inconsistentFiles = "inconsistent_files"
            case tooManyFiles = "too_many_files"
            case pathTooDeep = "path_too_deep"
            case pathTooLong = "path_too_long"
        }

        fileprivate let base: Base

        /// Not bencode at all, or non-canonical bencode inside a v2 info dictionary.
        public static let invalidBencoding = Category(base: .invalidBencoding)
        /// Lists and dictionaries nested too deep.
        public static let depthExceeded = Category(base: .depthExceeded)
        /// The file, or the number of values in it, exceeds the decoder limits.
        public static let tooLarge = Category(base: .tooLarge)
        /// The top-level value is not a dictionary.
        public static let isNotADictionary = Category(base: .isNotADictionary)
        /// No `info` dictionary.
        public static let missingInfo = Category(base: .missingInfo)
        /// No usable `name`, or a file without a `path`.
        public static let missingName = Category(base: .missingName)
        /// A path or symlink path that holds something other than strings.
        public static let invalidName = Category(base: .invalidName)
        /// `piece length` missing, not a positive integer, too large, or (v2) not a power of two >= 16 KiB.
        public static let missingPieceLength = Category(base: .missingPieceLength)
        /// `pieces` missing or not a string.
        public static let missingPieces = Category(base: .missingPieces)
        /// `pieces` not 20 bytes per piece of the content.
        public static let invalidHashes = Category(base: .invalidHashes)
        /// A file length missing, negative or too large, or a total length of zero.
        public static let invalidLength = Category(base: .invalidLength)
        /// An empty `files` list.
        public static let noFiles = Category(base: .noFiles)
        /// More pieces than the limit.
        public static let tooManyPieces = Category(base: .tooManyPieces)
        /// Too many files whose paths collide.
        public static let tooManyDuplicateFilenames = Category(base: .tooManyDuplicateFilenames)
        /// A `meta version` other than 1 or 2.
        public static let unknownVersion = Category(base: .unknownVersion)
        /// `meta version` 2 without a `file tree`.
        public static let missingFileTree = Category(base: .missingFileTree)
        /// A `file tree` without `meta version` 2.
        public static let missingMetaVersion = Category(base: .missingMetaVersion)
        /// A malformed v2 `file tree` (empty names, non-dictionary nodes, nesting too deep).
        public static let fileParseFailed = Category(base: .fileParseFailed)
        /// A pad file where none is allowed (v2 file tree, or a symlink marked as pad).
        public static let invalidPadFile = Category(base: .invalidPadFile)
        /// A non-empty v2 file without a valid `pieces root`.
        public static let missingPiecesRoot = Category(base: .missingPiecesRoot)
        /// A `piece layers` entry that matches no file, has the wrong size, or does not hash to its root.
        public static let invalidPieceLayer = Category(base: .invalidPieceLayer)
        /// The v1 and v2 descriptions of a hybrid torrent disagree.
        public static let inconsistentFiles = Category(base: .inconsistentFiles)
        /// More files than ``MetainfoLimits/maxFiles``.
        public static let tooManyFiles = Category(base: .tooManyFiles)
        /// A file path or symlink target of more elements than ``MetainfoLimits/maxPathDepth``.
        public static let pathTooDeep = Category(base: .pathTooDeep)
        /// A file path or symlink target longer than ``MetainfoLimits/maxPathBytes`` once sanitized.
        public static let pathTooLong = Category(base: .pathTooLong)

        /// A stable snake-case name (`missing_name`), for logs and JSON.
        public var description: String { base.rawValue }
    }

    /// The kind of fault.
    public let category: Category
    /// A human sentence saying what was wrong.
    public let message: String
    /// The bencode error behind an ``Category/invalidBencoding``, ``Category/depthExceeded`` or
    /// ``Category/tooLarge`` fault.
    public let bencodeError: BencodeError?

    /// Creates an error.
    public init(_ category: Category, _ message: String, bencodeError: BencodeError? = nil) {
        self.category = category
        self.message = message
        self.bencodeError = bencodeError
    }

    /// Wraps a decoder error, choosing the category from its code.
    public init(_ error: BencodeError) {
        let category: Category
        switch error.code {
        case .depthExceeded: category = .depthExceeded
        case .tooManyElements, .inputTooLarge: category = .tooLarge
        default: category = .invalidBencoding
        }
        self.init(category, "\(error)", bencodeError: error)
    }

    /// The message.
    public var description: String { message }
}
