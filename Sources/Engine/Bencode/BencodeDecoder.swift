/// A strict bencode decoder over raw bytes.
///
/// - Integers: `i<digits>e` with an optional `-`, no leading zeros, no `-0`, within `Int64`.
/// - Strings: `<length>:<bytes>`, no leading zeros in the length; the declared length is checked
///   against the remaining input before anything is read, so a length of 2^62 allocates nothing.
/// - Dictionaries: byte-string keys in strictly increasing byte order. Keys out of order or
///   repeated are an error in ``KeyOrder/strict`` mode; in ``KeyOrder/lenient`` mode they are
///   accepted and the dictionary (and every value containing it) is marked non-canonical
///   (``BencodeNode/isCanonical``), so the caller decides; lookups see the first occurrence of a
///   repeated key, as the reference client does. Nothing is ever re-encoded.
/// - Limits on nesting depth, number of values and input length (``Limits``).
///
/// The decoder is iterative (an explicit stack, not recursion), so hostile nesting cannot exhaust
/// the thread's stack. Every error carries the offset of the offending byte.
public struct BencodeDecoder: Sendable {
    /// Bounds on what the decoder accepts.
    public struct Limits: Hashable, Sendable {
        /// Maximum nesting of lists and dictionaries (a top-level dictionary is depth 1).
        public var maxDepth: Int
        /// Maximum number of values, dictionary keys included.
        public var maxElements: Int
        /// Maximum length of one byte string.
        public var maxStringLength: Int
        /// Maximum length of the whole input.
        public var maxInputLength: Int

        /// Creates limits.
        public init(maxDepth: Int, maxElements: Int, maxStringLength: Int, maxInputLength: Int) {
            self.maxDepth = maxDepth
            self.maxElements = maxElements
            self.maxStringLength = maxStringLength
            self.maxInputLength = maxInputLength
        }

        /// Depth 100, 3,000,000 values, 64 MiB strings and inputs: enough for any real torrent.
        public static let `default` = Limits(
            maxDepth: 100, maxElements: 3_000_000, maxStringLength: 64 << 20, maxInputLength: 64 << 20)
    }

    /// What to do with dictionary keys that are out of order or repeated.
    public enum KeyOrder: Hashable, Sendable {
        /// Throw ``BencodeError/Code/unsortedKeys`` or ``BencodeError/Code/duplicateKey``.
        case strict
        /// Accept, and mark the values non-canonical.
        case lenient
    }

    /// The limits in force.
    public var limits: Limits
    /// The key-order policy.
    public var keyOrder: KeyOrder

    /// Creates a decoder.
    public init(limits: Limits = .default, keyOrder: KeyOrder = .strict) {
        self.limits = limits
        self.keyOrder = keyOrder
    }

    /// Decodes `bytes`, which must hold exactly one value.
    public func decode(_ bytes: [UInt8]) throws(BencodeError) -> BencodeNode {
        try decode(bytes[...])
    }

    /// Decodes `bytes`, which must hold exactly one value. Offsets are indices of `bytes`.
    public func decode(_ bytes: ArraySlice<UInt8>) throws(BencodeError) -> BencodeNode {
        let node = try decodePrefix(bytes)
        guard node.span.upperBound == bytes.endIndex else {
            throw BencodeError(.trailingData, at: node.span.upperBound)
        }
        return node
    }

    /// Decodes the one value that starts at the beginning of `bytes` and ignores whatever follows
    /// it; the returned node's `span.upperBound` is where the value ended.
    public func decodePrefix(_ bytes: [UInt8]) throws(BencodeError) -> BencodeNode {
        try decodePrefix(bytes[...])
    }

    /// Decodes the one value that starts at `bytes.startIndex` and ignores whatever follows it.
    public func decodePrefix(_ bytes: ArraySlice<UInt8>) throws(BencodeError) -> BencodeNode {
        guard bytes.count <= limits.maxInputLength else {
            throw BencodeError(.inputTooLarge, at: bytes.startIndex + limits.maxInputLength)
        }
        let result = bytes.withUnsafeBufferPointer { buffer in
            var parser = BencodeParser(
                input: bytes, buffer: buffer, limits: limits, strictKeyOrder: keyOrder == .strict)
            return Result { () throws(BencodeError) in try parser.parseValue() }
        }
        return try result.get()
    }
}

/// The state of one decoding run. Bytes are read through `buffer` (the storage of `input`, valid
/// for the run); byte strings are returned as slices of `input`. Positions are 0-based in `buffer`
/// and reported as `input` indices.
private struct BencodeParser {
    /// An open list or dictionary.
    struct Frame {
        var isDictionary: Bool
        var start: Int
        var items: [BencodeNode] = []
        var entries: [BencodeNode.Entry] = []
        var pendingKey: ArraySlice<UInt8>?
        var isCanonical = true
        /// Keys seen so far, built only once a dictionary turns out to be non-canonical.
        var seenKeys: Set<ArraySlice<UInt8>>?
    }

    let input: ArraySlice<UInt8>
    let buffer: UnsafeBufferPointer<UInt8>
    let limits: BencodeDecoder.Limits
    let strictKeyOrder: Bool
    var position = 0
    var elementCount = 0
    var stack: [Frame] = []
    /// True when the innermost open container is a dictionary waiting for its next key.
    var expectingKey = false

    init(
        input: ArraySlice<UInt8>, buffer: UnsafeBufferPointer<UInt8>, limits: BencodeDecoder.Limits,
        strictKeyOrder: Bool
    ) {
        self.input = input
        self.buffer = buffer
        self.limits = limits
        self.strictKeyOrder = strictKeyOrder
    }

    private func error(_ code: BencodeError.Code, at position: Int) -> BencodeError {
        BencodeError(code, at: input.startIndex + position)
    }

    private func span(from start: Int) -> Range<Int> {
        input.startIndex + start..<input.startIndex + position
    }

    mutating func parseValue() throws(BencodeError) -> BencodeNode {
        while true {
            guard position < buffer.count else { throw error(.unexpectedEnd, at: position) }
            let byte = buffer[position]
            let completed: BencodeNode
            if !stack.isEmpty, byte == UInt8(ascii: "e") {
                completed = try closeContainer()
            } else if expectingKey {
                try readKey()
                continue
            } else {
                switch byte {
                case UInt8(ascii: "i"):
                    completed = try readInteger()
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let start = position
                    let bytes = try readString()
                    completed = BencodeNode(value: .string(bytes), span: span(from: start), isCanonical: true)
                case UInt8(ascii: "l"), UInt8(ascii: "d"):
                    try openContainer(isDictionary: byte == UInt8(ascii: "d"))
                    continue
                default:
                    throw error(.unexpectedByte, at: position)
                }
            }
            guard !stack.isEmpty else { return completed }
            attach(completed)
        }
    }

    private mutating func countElement() throws(BencodeError) {
        elementCount += 1
        guard elementCount <= limits.maxElements else { throw error(.tooManyElements, at: position) }
    }

    private mutating func openContainer(isDictionary: Bool) throws(BencodeError) {
        guard stack.count < limits.maxDepth else { throw error(.depthExceeded, at: position) }
        try countElement()
        stack.append(Frame(isDictionary: isDictionary, start: position))
        expectingKey = isDictionary
        position += 1
    }

    private mutating func closeContainer() throws(BencodeError) -> BencodeNode {
        let frame = stack.removeLast()
        if frame.isDictionary, frame.pendingKey != nil { throw error(.missingValue, at: position) }
        position += 1
        let value: BencodeNode.Value = frame.isDictionary ? .dictionary(frame.entries) : .list(frame.items)
        return BencodeNode(value: value, span: span(from: frame.start), isCanonical: frame.isCanonical)
    }

    private mutating func attach(_ node: BencodeNode) {
        let top = stack.count - 1
        if !node.isCanonical { stack[top].isCanonical = false }
        if stack[top].isDictionary {
            stack[top].entries.append(BencodeNode.Entry(key: stack[top].pendingKey!, value: node))
            stack[top].pendingKey = nil
            expectingKey = true
        } else {
            stack[top].items.append(node)
            expectingKey = false
        }
    }

    private mutating func readKey() throws(BencodeError) {
        let keyStart = position
        guard UInt8(ascii: "0")...UInt8(ascii: "9") ~= buffer[position] else {
            throw error(.nonStringKey, at: position)
        }
        let key = try readString()
        let top = stack.count - 1
        expectingKey = false
        defer { stack[top].pendingKey = key }
        if stack[top].seenKeys != nil {
            if !stack[top].seenKeys!.insert(key).inserted { try nonCanonicalKey(.duplicateKey, at: keyStart) }
            return
        }
        guard let previous = stack[top].entries.last?.key else { return }
        let order = compare(previous, key)
        guard order >= 0 else { return }
        try nonCanonicalKey(order == 0 ? .duplicateKey : .unsortedKeys, at: keyStart)
        var seen = Set(stack[top].entries.map(\.key))
        seen.insert(key)
        stack[top].seenKeys = seen
    }

    /// Byte order of two slices of the input: negative, zero or positive, like `memcmp`.
    private func compare(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Int {
        let left = lhs.startIndex - input.startIndex
        let right = rhs.startIndex - input.startIndex
        for offset in 0..<min(lhs.count, rhs.count) {
            let (a, b) = (buffer[left + offset], buffer[right + offset])
            if a != b { return Int(a) - Int(b) }
        }
        return lhs.count - rhs.count
    }

    /// A key out of order or repeated: an error in strict mode, else the dictionary is marked
    /// non-canonical (lookups then see the first occurrence of a repeated key).
    private mutating func nonCanonicalKey(_ code: BencodeError.Code, at offset: Int) throws(BencodeError) {
        if strictKeyOrder { throw error(code, at: offset) }
        stack[stack.count - 1].isCanonical = false
    }

    /// Reads `<length>:<bytes>` at `position` and returns the bytes (a slice of the input).
    private mutating func readString() throws(BencodeError) -> ArraySlice<UInt8> {
        try countElement()
        let start = position
        if buffer[position] == UInt8(ascii: "0"), position + 1 < buffer.count,
            buffer[position + 1] != UInt8(ascii: ":")
        {
            throw error(.invalidStringLength, at: position)
        }
        var length = 0
        while true {
            guard position < buffer.count else { throw error(.unexpectedEnd, at: position) }
            let byte = buffer[position]
            if byte == UInt8(ascii: ":") { break }
            guard UInt8(ascii: "0")...UInt8(ascii: "9") ~= byte else { throw error(.invalidStringLength, at: position) }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
            // Stop as soon as the length cannot fit: no overflow, no huge allocation.
            guard length <= limits.maxStringLength, length <= buffer.count - position else {
                throw error(.stringTooLong, at: start)
            }
            position += 1
        }
        let contentStart = position + 1
        guard length <= buffer.count - contentStart else { throw error(.stringTooLong, at: start) }
        position = contentStart + length
        return input[input.startIndex + contentStart..<input.startIndex + position]
    }

    /// Reads `i<digits>e` at `position`.
    private mutating func readInteger() throws(BencodeError) -> BencodeNode {
        try countElement()
        let start = position
        position += 1
        var negative = false
        if position < buffer.count, buffer[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        let digitsStart = position
        var magnitude: UInt64 = 0
        let maximum: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        while true {
            guard position < buffer.count else { throw error(.unexpectedEnd, at: position) }
            let byte = buffer[position]
            if byte == UInt8(ascii: "e") { break }
            guard UInt8(ascii: "0")...UInt8(ascii: "9") ~= byte else { throw error(.invalidInteger, at: position) }
            let digit = UInt64(byte - UInt8(ascii: "0"))
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2, sum <= maximum else { throw error(.integerOverflow, at: start) }
            magnitude = sum
            position += 1
        }
        let digitCount = position - digitsStart
        guard digitCount > 0 else { throw error(.invalidInteger, at: position) }
        if buffer[digitsStart] == UInt8(ascii: "0"), digitCount > 1 || negative {
            throw error(.invalidInteger, at: digitsStart)
        }
        position += 1
        let value = negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
        return BencodeNode(value: .integer(value), span: span(from: start), isCanonical: true)
    }
}
