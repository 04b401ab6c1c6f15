/// A decoded bencode value together with its exact position in the input.
///
/// A node is a view into the decoder's ``BencodeTape`` (16 bytes: the tape and a token index):
/// nothing is decoded until asked for. Byte strings are slices of the decoded input (no copy),
/// and ``span`` is the range of input indices the value was read from, so a caller can hash or
/// store the original bytes of any value (the info dictionary of a torrent, for example) without
/// re-encoding it. ``list``, ``entries`` and ``value`` build an array of the container's direct
/// children on each call (16 bytes per child); ``subscript(_:)`` and ``count`` build nothing.
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

    let tape: BencodeTape
    let index: Int

    init(tape: BencodeTape, index: Int) {
        self.tape = tape
        self.index = index
    }

    /// The node of token `index` of `tape`, reached by navigation: a sealed container is decoded again
    /// first (see ``BencodeTape``), so no node handed out is ever sealed.
    init(reaching index: Int, of tape: BencodeTape) {
        let (tape, index) = tape.tokens[index].isSealed ? tape.open(index) : (tape, index)
        self.init(tape: tape, index: index)
    }

    private var token: BencodeTape.Token { tape.tokens[index] }

    /// The decoded content.
    public var value: Value {
        switch token.kind {
        case .integer: return .integer(tape.integer(index))
        case .string: return .string(stringBytes)
        case .list: return .list(tape.children(of: index).map { BencodeNode(reaching: $0, of: tape) })
        case .dictionary: return .dictionary(dictionaryEntries)
        }
    }

    /// The input indices this value was read from, from its first byte (`i`, `l`, `d` or a digit)
    /// to one past its last byte.
    public var span: Range<Int> {
        let token = token
        return tape.base + token.start..<tape.base + token.end
    }

    /// True when this value and everything inside it is canonical bencode: every dictionary has
    /// its keys in strictly increasing byte order (so no key twice). (Integers and string lengths
    /// are always canonical: the decoder rejects leading zeros and `-0`.)
    public var isCanonical: Bool { token.isCanonical }

    fileprivate var stringBytes: ArraySlice<UInt8> {
        let content = tape.stringContent(index)
        return tape.input[tape.base + content.lowerBound..<tape.base + content.upperBound]
    }

    private var dictionaryEntries: [Entry] {
        var entries: [Entry] = []
        var children = tape.children(of: index)
        while let key = children.next(), let value = children.next() {
            entries.append(
                Entry(
                    key: BencodeNode(tape: tape, index: key).stringBytes, value: BencodeNode(reaching: value, of: tape))
            )
        }
        return entries
    }
}

extension BencodeNode {
    /// The integer, if this is one.
    ///
    /// Not inlined: Swift 6.3.1's optimizer crashed (an ownership verifier failure) when this
    /// accessor was inlined into `MetainfoParser.parse` in release builds.
    public var integer: Int64? {
        @inline(never) get { token.kind == .integer ? tape.integer(index) : nil }
    }

    /// The raw bytes, if this is a byte string.
    public var bytes: ArraySlice<UInt8>? {
        token.kind == .string ? stringBytes : nil
    }

    /// The byte string decoded as UTF-8 (invalid sequences become U+FFFD), if this is a string.
    public var string: String? {
        token.kind == .string ? String(decoding: stringBytes, as: UTF8.self) : nil
    }

    /// The items, if this is a list.
    public var list: [BencodeNode]? {
        guard token.kind == .list else { return nil }
        return tape.children(of: index).map { BencodeNode(reaching: $0, of: tape) }
    }

    /// The entries in input order, if this is a dictionary.
    public var entries: [Entry]? {
        token.kind == .dictionary ? dictionaryEntries : nil
    }

    /// The items of a list, one at a time as they are iterated (nothing is built beforehand); no
    /// items if this is not a list. For long lists of which only the first items matter.
    public var items: Items {
        Items(tape: tape, children: token.kind == .list ? tape.children(of: index) : nil)
    }

    /// The entries of a dictionary in input order, one at a time as they are iterated (nothing is built
    /// beforehand); no entries if this is not a dictionary. For dictionaries that may be large.
    public var lazyEntries: LazyEntries {
        LazyEntries(tape: tape, children: token.kind == .dictionary ? tape.children(of: index) : nil)
    }

    /// The number of items of a list or entries of a dictionary (0 for an integer or a string),
    /// counted without building them.
    public var count: Int {
        guard token.isContainer else { return 0 }
        let children = tape.children(of: index).reduce(0) { count, _ in count + 1 }
        return token.kind == .dictionary ? children / 2 : children
    }

    /// True for a dictionary.
    public var isDictionary: Bool { token.kind == .dictionary }

    /// True for a list.
    public var isList: Bool { token.kind == .list }

    /// The value stored under `key` (compared as UTF-8 bytes), if this is a dictionary that has it;
    /// the first one when a non-canonical dictionary repeats the key.
    public subscript(key: String) -> BencodeNode? {
        guard token.kind == .dictionary else { return nil }
        let wanted = key.utf8
        var children = tape.children(of: index)
        while let key = children.next(), let value = children.next() {
            if tape.stringEquals(key, wanted) { return BencodeNode(reaching: value, of: tape) }
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

extension BencodeNode {
    /// The items of a list, iterated lazily (see ``BencodeNode/items``).
    public struct Items: Sequence, IteratorProtocol, Sendable {
        let tape: BencodeTape?
        var children: BencodeTape.Children?

        /// No items.
        public static let empty = Items(tape: nil, children: nil)

        /// The next item.
        public mutating func next() -> BencodeNode? {
            guard let tape, let index = children?.next() else { return nil }
            return BencodeNode(reaching: index, of: tape)
        }
    }
}

extension BencodeNode {
    /// The entries of a dictionary, iterated lazily (see ``BencodeNode/lazyEntries``).
    public struct LazyEntries: Sequence, IteratorProtocol, Sendable {
        let tape: BencodeTape
        var children: BencodeTape.Children?

        /// The next entry.
        public mutating func next() -> Entry? {
            guard let key = children?.next(), let value = children?.next() else { return nil }
            return Entry(
                key: BencodeNode(tape: tape, index: key).stringBytes, value: BencodeNode(reaching: value, of: tape))
        }
    }
}
