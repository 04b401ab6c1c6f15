/// A decoded bencode value together with its exact position in the input.
///
/// Byte strings are slices of the decoded input (no copy), and ``span`` is the range of input
/// indices the value was read from, so a caller can hash or store the original bytes of any value
/// (the info dictionary of a torrent, for example) without re-encoding it.
public struct BencodeNode: Sendable {
    /// One key-value pair of a dictionary, in input order.
    public struct Entry: Sendable {
        /// The key's bytes (indices are input indices).
        public let key: ArraySlice<UInt8>
        /// The value.
        public let value: BencodeNode
    }

    /// The decoded content.
    public enum Value: Sendable {
        /// `i...e`.
        case integer(Int64)
        /// `<length>:<bytes>`.
        case string(ArraySlice<UInt8>)
        /// `l...e`.
        case list([BencodeNode])
        /// `d...e`, entries in input order.
        case dictionary([Entry])
    }

    /// The decoded content.
    public let value: Value
    /// The input indices this value was read from, from its first byte (`i`, `l`, `d` or a digit)
    /// to one past its last byte.
    public let span: Range<Int>
    /// True when this value and everything inside it is canonical bencode: every dictionary has
    /// its keys in strictly increasing byte order (so no key twice). (Integers and string lengths are always
    /// canonical: the decoder rejects leading zeros and `-0`.)
    public let isCanonical: Bool

    /// Creates a node; the decoder is the usual source.
    public init(value: Value, span: Range<Int>, isCanonical: Bool) {
        self.value = value
        self.span = span
        self.isCanonical = isCanonical
    }
}

extension BencodeNode {
    /// The integer, if this is one.
    ///
    /// Not inlined: Swift 6.3.1's optimizer crashes (an ownership verifier failure) when this accessor
    /// is inlined into `MetainfoParser.parse` in release builds.
    public var integer: Int64? {
        @inline(never) get {
            switch value {
            case .integer(let value): return value
            default: return nil
            }
        }
    }

    /// The raw bytes, if this is a byte string.
    public var bytes: ArraySlice<UInt8>? {
        if case .string(let bytes) = value { return bytes }
        return nil
    }

    /// The byte string decoded as UTF-8 (invalid sequences become U+FFFD), if this is a string.
    public var string: String? {
        if case .string(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// The items, if this is a list.
    public var list: [BencodeNode]? {
        if case .list(let items) = value { return items }
        return nil
    }

    /// The entries in input order, if this is a dictionary.
    public var entries: [Entry]? {
        if case .dictionary(let entries) = value { return entries }
        return nil
    }

    /// True for a dictionary.
    public var isDictionary: Bool {
        if case .dictionary = value { return true }
        return false
    }

    /// The value stored under `key` (compared as UTF-8 bytes), if this is a dictionary that has it;
    /// the first one when a non-canonical dictionary repeats the key.
    public subscript(key: String) -> BencodeNode? {
        guard case .dictionary(let entries) = value else { return nil }
        let wanted = key.utf8
        for entry in entries where entry.key.count == wanted.count && entry.key.elementsEqual(wanted) {
            return entry.value
        }
        return nil
    }

    /// The same data as a plain ``BencodeValue`` (byte strings copied), for re-encoding or building.
    public var plainValue: BencodeValue {
        switch value {
        case .integer(let value):
            return .integer(value)
        case .string(let bytes):
            return .string(Array(bytes))
        case .list(let items):
            return .list(items.map(\.plainValue))
        case .dictionary(let entries):
            var dictionary: [[UInt8]: BencodeValue] = [:]
            dictionary.reserveCapacity(entries.count)
            for entry in entries { dictionary[Array(entry.key)] = entry.value.plainValue }
            return .dictionary(dictionary)
        }
    }
}
