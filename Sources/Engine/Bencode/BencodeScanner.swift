/// One decoding run: checks the input byte by byte and records one ``BencodeTape/Token`` per
/// value. Bytes are read through `buffer` (the storage of the input, valid for the run); positions
/// are 0-based in `buffer` and reported as input indices (`base + position`).
///
/// The scanner is iterative: open lists and dictionaries live on an explicit stack of at most
/// `maxDepth` small frames, so hostile nesting cannot exhaust the thread's stack, and nothing is
/// allocated per value but its token.
///
/// A container nested deeper than `tapeDepth` is sealed: scanned and checked like any other, and its
/// tokens dropped when it closes, so that the tape holds one token for it and the memory of its
/// content is reused by the next one.
///
/// Once the tape holds `lookAheadTokens` tokens, the rest of the input is checked first by a copy of
/// the scanner that records nothing (``lookAhead()``), and recording goes on only if it is valid: an
/// input refused for its values (more than the limit, a bad byte near its end) then costs at most
/// that many tokens rather than one per value up to the error. Inputs that never reach it (every
/// real torrent: a torrent of 250,000 files keeps some 250,000 tokens) are scanned once.
struct BencodeScanner {
    /// An open list or dictionary.
    private struct Frame {
        /// Its token (the token's end is set when it closes).
        var token: Int
        var isDictionary: Bool
        var isCanonical = true
        /// A dictionary whose last key still waits for its value.
        var hasPendingKey = false
        /// The content of the dictionary's last key (offsets), to check the key order.
        var lastKey: Range<Int>?
    }

    private let buffer: UnsafeBufferPointer<UInt8>
    private let base: Int
    private let limits: BencodeDecoder.Limits
    private let strictKeyOrder: Bool
    private let tapeDepth: Int
    private let lookAheadTokens: Int
    /// This scanner checks the rest of the input for another and records no tokens.
    private var isLookingAhead = false
    /// The rest of the input has been checked by a look-ahead.
    private var checkedAhead = false
    /// The content of the last string read (offsets).
    private var lastStringContent = 0..<0
    private var position = 0
    /// Values read so far, sealed ones' content included (checked against `maxElements`).
    private var elements = 0
    private var stack: [Frame] = []
    /// True when the innermost open container is a dictionary waiting for its next key.
    private var expectingKey = false
    private(set) var tokens: [BencodeTape.Token] = []

    init(
        buffer: UnsafeBufferPointer<UInt8>, base: Int, limits: BencodeDecoder.Limits, strictKeyOrder: Bool,
        tapeDepth: Int = .max, lookAheadTokens: Int = 1 << 20
    ) {
        self.buffer = buffer
        self.base = base
        self.limits = limits
        self.strictKeyOrder = strictKeyOrder
        self.tapeDepth = tapeDepth
        self.lookAheadTokens = max(1, lookAheadTokens)
        // Every value takes at least two bytes, so this is enough; pages never written are never
        // touched, so a large reservation costs address space, not memory.
        tokens.reserveCapacity(min(limits.maxElements, buffer.count / 2 + 1))
        stack.reserveCapacity(min(limits.maxDepth, 128, buffer.count / 2 + 1))
    }

    private func error(_ code: BencodeError.Code, at position: Int) -> BencodeError {
        BencodeError(code, at: base + position)
    }

    /// Reads the value at the start of the buffer; afterwards `tokens[0]` is that value.
    mutating func scanValue() throws(BencodeError) {
        while true {
            if !isLookingAhead, !checkedAhead, tokens.count >= lookAheadTokens { try lookAhead() }
            guard position < buffer.count else { throw error(.unexpectedEnd, at: position) }
            let byte = buffer[position]
            // Whether the value just completed (and everything inside it) is canonical.
            let isCanonical: Bool
            if !stack.isEmpty, byte == UInt8(ascii: "e") {
                isCanonical = try closeContainer()
            } else if expectingKey {
                try readKey()
                continue
            } else {
                switch byte {
                case UInt8(ascii: "i"):
                    _ = try readInteger()
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    _ = try readString()
                case UInt8(ascii: "l"), UInt8(ascii: "d"):
                    try openContainer(isDictionary: byte == UInt8(ascii: "d"))
                    continue
                default:
                    throw error(.unexpectedByte, at: position)
                }
                // Integers and string lengths are always canonical (leading zeros are refused).
                isCanonical = true
            }
            guard !stack.isEmpty else { return }
            attach(isCanonical: isCanonical)
        }
    }

    /// Checks the rest of the input with a copy of this scanner that records no tokens, and throws
    /// what it finds: the error this scanner would meet further on, at the same offset.
    private mutating func lookAhead() throws(BencodeError) {
        checkedAhead = true
        var ahead = self
        // The copy shares no token storage (it would copy it on its first change) and knows that
        // the containers open so far have no tokens of its own.
        ahead.tokens = []
        ahead.isLookingAhead = true
        try ahead.scanValue()
    }

    /// Counts a value against the limit and records its token; returns the token's index (-1 while
    /// looking ahead, when nothing is recorded).
    private mutating func append(_ kind: BencodeTape.Kind, start: Int, end: Int) throws(BencodeError) -> Int {
        guard elements < limits.maxElements else { throw error(.tooManyElements, at: start) }
        elements += 1
        if isLookingAhead { return -1 }
        tokens.append(BencodeTape.Token(kind: kind, start: start, end: end))
        return tokens.count - 1
    }

    private mutating func openContainer(isDictionary: Bool) throws(BencodeError) {
        guard stack.count < limits.maxDepth else { throw error(.depthExceeded, at: position) }
        let token = try append(isDictionary ? .dictionary : .list, start: position, end: position)
        stack.append(Frame(token: token, isDictionary: isDictionary))
        expectingKey = isDictionary
        position += 1
    }

    /// Closes the innermost container; returns whether it is canonical.
    private mutating func closeContainer() throws(BencodeError) -> Bool {
        let frame = stack.removeLast()
        if frame.hasPendingKey { throw error(.missingValue, at: position) }
        position += 1
        if isLookingAhead { return frame.isCanonical }
        tokens[frame.token].tail = UInt32(truncatingIfNeeded: position)
        if !frame.isCanonical { tokens[frame.token].head |= BencodeTape.Token.nonCanonicalBit }
        if stack.count == tapeDepth {
            // The outermost sealed container: only its own token stays.
            tokens.removeSubrange(frame.token + 1..<tokens.count)
            tokens[frame.token].tail |= BencodeTape.Token.sealedBit
        }
        return frame.isCanonical
    }

    /// Hands a completed value to the innermost open container.
    private mutating func attach(isCanonical: Bool) {
        let top = stack.count - 1
        if !isCanonical { stack[top].isCanonical = false }
        if stack[top].isDictionary {
            stack[top].hasPendingKey = false
            expectingKey = true
        } else {
            expectingKey = false
        }
    }

    private mutating func readKey() throws(BencodeError) {
        let keyStart = position
        guard UInt8(ascii: "0")...UInt8(ascii: "9") ~= buffer[position] else {
            throw error(.nonStringKey, at: position)
        }
        _ = try readString()
        let key = lastStringContent
        let top = stack.count - 1
        expectingKey = false
        stack[top].hasPendingKey = true
        defer { stack[top].lastKey = key }
        guard let previous = stack[top].lastKey else { return }
        let order = compare(previous, key)
        guard order >= 0 else { return }
        // A key out of order or repeated: an error in strict mode, else the dictionary is marked
        // non-canonical (lookups then see the first occurrence of a repeated key).
        if strictKeyOrder { throw error(order == 0 ? .duplicateKey : .unsortedKeys, at: keyStart) }
        stack[top].isCanonical = false
    }

    /// Byte order of two ranges of the input: negative, zero or positive, like `memcmp`.
    private func compare(_ lhs: Range<Int>, _ rhs: Range<Int>) -> Int {
        for offset in 0..<min(lhs.count, rhs.count) {
            let (a, b) = (buffer[lhs.lowerBound + offset], buffer[rhs.lowerBound + offset])
            if a != b { return Int(a) - Int(b) }
        }
        return lhs.count - rhs.count
    }

    /// Reads `<length>:<bytes>` at `position`.
    private mutating func readString() throws(BencodeError) -> Int {
        let start = position
        guard elements < limits.maxElements else { throw error(.tooManyElements, at: start) }
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
        lastStringContent = contentStart..<position
        return try append(.string, start: start, end: position)
    }

    /// Reads `i<digits>e` at `position`.
    private mutating func readInteger() throws(BencodeError) -> Int {
        let start = position
        guard elements < limits.maxElements else { throw error(.tooManyElements, at: start) }
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
        return try append(.integer, start: start, end: position)
    }
}
