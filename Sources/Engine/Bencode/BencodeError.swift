/// A malformed or over-limit bencoded input.
///
/// Carries what went wrong (``code``) and the byte offset where the decoder stopped (``offset``), an
/// index into the collection that was decoded.
public struct BencodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a value that can be compared (`error.code == .depthExceeded`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case unexpectedEnd = "unexpected end of input"
            case unexpectedByte = "unexpected byte where a value was expected"
            case invalidInteger = "malformed integer (no digits, a leading zero, -0 or a stray byte)"
            case integerOverflow = "integer outside the 64-bit range"
            case invalidStringLength = "malformed string length"
            case stringTooLong = "string longer than the remaining input or the limit"
            case nonStringKey = "dictionary key is not a string"
            case missingValue = "dictionary key without a value"
            case unsortedKeys = "dictionary keys are not in sorted order"
            case duplicateKey = "duplicate dictionary key"
            case depthExceeded = "nesting deeper than the limit"
            case tooManyElements = "more elements than the limit"
            case inputTooLarge = "input larger than the limit"
            case trailingData = "trailing bytes after the value"
        }

        fileprivate let base: Base

        /// The input ended inside a value.
        public static let unexpectedEnd = Code(base: .unexpectedEnd)
        /// A byte that cannot start a value (`i`, `l`, `d` or a digit).
        public static let unexpectedByte = Code(base: .unexpectedByte)
        /// An integer with no digits, a leading zero, `-0`, or a non-digit before its `e`.
        public static let invalidInteger = Code(base: .invalidInteger)
        /// An integer that does not fit in `Int64`.
        public static let integerOverflow = Code(base: .integerOverflow)
        /// A string length with a leading zero or a non-digit before its `:`.
        public static let invalidStringLength = Code(base: .invalidStringLength)
        /// A string whose declared length runs past the input or the limit.
        public static let stringTooLong = Code(base: .stringTooLong)
        /// A dictionary key that is not a byte string.
        public static let nonStringKey = Code(base: .nonStringKey)
        /// A dictionary that ends right after a key.
        public static let missingValue = Code(base: .missingValue)
        /// Dictionary keys out of byte order (only in ``BencodeDecoder/KeyOrder/strict`` mode).
        public static let unsortedKeys = Code(base: .unsortedKeys)
        /// The same key twice in one dictionary (only in ``BencodeDecoder/KeyOrder/strict`` mode).
        public static let duplicateKey = Code(base: .duplicateKey)
        /// Lists and dictionaries nested deeper than ``BencodeDecoder/Limits/maxDepth``.
        public static let depthExceeded = Code(base: .depthExceeded)
        /// More values than ``BencodeDecoder/Limits/maxElements``.
        public static let tooManyElements = Code(base: .tooManyElements)
        /// An input longer than ``BencodeDecoder/Limits/maxInputLength``.
        public static let inputTooLarge = Code(base: .inputTooLarge)
        /// Bytes after the top-level value (only from ``BencodeDecoder/decode(_:)-(ArraySlice<UInt8>)``).
        public static let trailingData = Code(base: .trailingData)

        /// A short human description.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// Index of the offending byte (or of the end of input) in the decoded collection.
    public let offset: Int

    /// Creates an error; the decoder is the usual source.
    public init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    /// `"bencode: <what> at byte <offset>"`.
    public var description: String { "bencode: \(code) at byte \(offset)" }
}
