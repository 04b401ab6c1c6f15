/// Why a torrent could not be created.
public struct TorrentCreatorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of fault, comparable with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case notFound = "not_found"
            case noFiles = "no_files"
            case emptyContent = "empty_content"
            case invalidPieceLength = "invalid_piece_length"
            case tooManyPieces = "too_many_pieces"
            case readFailed = "read_failed"
        }

        fileprivate let base: Base

        /// The source path does not exist or is neither a regular file nor a folder.
        public static let notFound = Code(base: .notFound)
        /// The folder holds no regular file.
        public static let noFiles = Code(base: .noFiles)
        /// Every file is empty: a torrent needs at least one byte.
        public static let emptyContent = Code(base: .emptyContent)
        /// The requested piece length is not a power of two between 16 KiB and 512 MiB.
        public static let invalidPieceLength = Code(base: .invalidPieceLength)
        /// The content needs more pieces than a torrent may have; choose a larger piece length.
        public static let tooManyPieces = Code(base: .tooManyPieces)
        /// A file could not be read, or changed size while it was hashed.
        public static let readFailed = Code(base: .readFailed)

        /// A stable snake-case name.
        public var description: String { base.rawValue }
    }

    /// The kind of fault.
    public let code: Code
    /// A human sentence saying what was wrong.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
