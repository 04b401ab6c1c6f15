/// A bencode value built in memory, for encoding (see ``BencodeEncoder``).
///
/// Dictionaries are unordered here; the encoder writes their keys in byte order, so every encoding
/// is canonical. Literals make building values short:
///
/// ```swift
/// let value: BencodeValue = ["announce": "udp://tracker/announce", "info": ["length": 425]]
/// ```
public enum BencodeValue: Hashable, Sendable {
    /// An integer.
    case integer(Int64)
    /// A byte string.
    case string([UInt8])
    /// A list.
    case list([BencodeValue])
    /// A dictionary with byte-string keys.
    case dictionary([[UInt8]: BencodeValue])

    /// A byte string holding the UTF-8 of `text`.
    public static func text(_ text: String) -> BencodeValue { .string(Array(text.utf8)) }

    /// A dictionary whose keys are given as text.
    public static func dictionary(_ entries: [String: BencodeValue]) -> BencodeValue {
        var dictionary: [[UInt8]: BencodeValue] = [:]
        dictionary.reserveCapacity(entries.count)
        for (key, value) in entries { dictionary[Array(key.utf8)] = value }
        return .dictionary(dictionary)
    }

    /// The canonical encoding of this value.
    public var encoded: [UInt8] { BencodeEncoder().encode(self) }
}

extension BencodeValue: ExpressibleByIntegerLiteral {
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension BencodeValue: ExpressibleByStringLiteral {
    /// A string literal, stored as UTF-8.
    public init(stringLiteral value: String) { self = .string(Array(value.utf8)) }
}

extension BencodeValue: ExpressibleByArrayLiteral {
    /// A list literal.
    public init(arrayLiteral elements: BencodeValue...) { self = .list(elements) }
}

extension BencodeValue: ExpressibleByDictionaryLiteral {
    /// A dictionary literal with text keys; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, BencodeValue)...) {
        var dictionary: [[UInt8]: BencodeValue] = [:]
        for (key, value) in elements { dictionary[Array(key.utf8)] = value }
        self = .dictionary(dictionary)
    }
}
