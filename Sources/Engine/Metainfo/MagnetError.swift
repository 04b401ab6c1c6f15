/// Why a magnet URI was refused.
public struct MagnetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of fault, comparable with `==` (`error.code == .invalidInfoHash`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case notAMagnetLink = "not_a_magnet_link"
            case missingInfoHash = "missing_info_hash"
            case invalidInfoHash = "invalid_info_hash"
            case unsupportedHashFunction = "unsupported_hash_function"
            case conflictingInfoHashes = "conflicting_info_hashes"
            case invalidPercentEncoding = "invalid_percent_encoding"
            case tooLong = "too_long"
        }

        fileprivate let base: Base

        /// The text does not start with `magnet:`.
        public static let notAMagnetLink = Code(base: .notAMagnetLink)
        /// No `xt=urn:btih:` and no `xt=urn:btmh:` parameter.
        public static let missingInfoHash = Code(base: .missingInfoHash)
        /// An info-hash of the wrong length or with characters outside its alphabet.
        public static let invalidInfoHash = Code(base: .invalidInfoHash)
        /// A `urn:btmh:` multihash that is not SHA-256 (`1220...`).
        public static let unsupportedHashFunction = Code(base: .unsupportedHashFunction)
        /// Two different info-hashes of the same kind.
        public static let conflictingInfoHashes = Code(base: .conflictingInfoHashes)
        /// A `%` not followed by two hexadecimal digits.
        public static let invalidPercentEncoding = Code(base: .invalidPercentEncoding)
        /// A URI longer than ``MagnetLink/maxURILength``.
        public static let tooLong = Code(base: .tooLong)

        /// A stable snake-case name (`invalid_info_hash`).
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
