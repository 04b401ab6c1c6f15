/// The decoded form of one bencoded input: the input itself and one 8-byte token per value, in the
/// order the values start (a value, then everything inside it, then its next sibling).
///
/// Nothing is copied out of the input: a token records only where its value starts and ends, its
/// kind and whether it is canonical, and every accessor of ``BencodeNode`` reads the input again
/// (an integer's digits, a string's length prefix). A dictionary's keys are string tokens of their
/// own, each followed by its value's tokens. So an input of `n` values costs `8 n` bytes beside
/// itself, whatever its shape, and the tape is built in one pass that never allocates per value.
///
/// A decoder given a ``BencodeDecoder/tapeDepth`` records the containers nested deeper than that as
/// *sealed* tokens: checked like every value, but with no tokens for what is inside them. A node of
/// one is never handed out as it is: navigating to it decodes its bytes again into a tape of its own
/// (see ``open(_:)``), so the whole tape of a long list of small containers (the 250,000 file
/// dictionaries of a torrent's `files`) is one token per container, and each container's tokens live
/// only while it is read.
///
/// Offsets in tokens are 0-based positions in the input; ``base`` turns them into indices of the
/// decoded collection. They are 29 bits wide: the decoder refuses inputs of ``maxInputLength``
/// bytes or more, whatever its limits.
final class BencodeTape: Sendable {
    /// The kind of a value.
    enum Kind: UInt32 {
        case integer = 0
        case string = 1
        case list = 2
        case dictionary = 3
    }

    /// One value: its kind, canonical flag and start offset packed in `head`, its end offset and
    /// sealed flag in `tail`.
    struct Token {
        /// Bits 0-28: start offset; bits 29-30: ``Kind``; bit 31: set when the value (or something
        /// inside it) is not canonical.
        var head: UInt32
        /// Bits 0-28: one past the value's last byte; bit 31: set for a sealed container (nothing
        /// inside it has a token).
        var tail: UInt32

        static let offsetMask: UInt32 = (1 << 29) - 1
        static let nonCanonicalBit: UInt32 = 1 << 31
        static let sealedBit: UInt32 = 1 << 31

        init(kind: Kind, start: Int, end: Int) {
            head = kind.rawValue << 29 | UInt32(truncatingIfNeeded: start)
            tail = UInt32(truncatingIfNeeded: end)
        }

        var start: Int { Int(head & Self.offsetMask) }
        var end: Int { Int(tail & Self.offsetMask) }
        var kind: Kind { Kind(rawValue: (head >> 29) & 3)! }
        var isCanonical: Bool { head & Self.nonCanonicalBit == 0 }
        var isContainer: Bool { head & (2 << 29) != 0 }
        var isSealed: Bool { tail & Self.sealedBit != 0 }
    }

    /// Inputs must be shorter than this (512 MiB), so that offsets fit in a token.
    static let maxInputLength = 1 << 29

    /// The decoded bytes.
    let input: ArraySlice<UInt8>
    /// The tokens, in input order; token 0 is the top-level value.
    let tokens: [Token]
    /// Decodes a sealed container again (with no ``BencodeDecoder/tapeDepth``).
    let decoder: BencodeDecoder

    /// The index of the input's first byte (offset 0).
    var base: Int { input.startIndex }

    init(input: ArraySlice<UInt8>, tokens: [Token], decoder: BencodeDecoder) {
        self.input = input
        self.tokens = tokens
        self.decoder = decoder
    }

    /// Sealed container `index` decoded again, as the first token of a tape of its own over the same
    /// input (offsets of the new tape are relative to the container's first byte). It was checked when
    /// it was sealed, with the same rules and limits, so decoding it again cannot fail; if it did, the
    /// container would read as empty rather than stop the program.
    func open(_ index: Int) -> (tape: BencodeTape, index: Int) {
        let token = tokens[index]
        let bytes = input[base + token.start..<base + token.end]
        guard let node = try? decoder.decodePrefix(bytes) else { return (self, index) }
        return (node.tape, node.index)
    }

    /// The byte at `offset`.
    @inline(__always)
    func byte(at offset: Int) -> UInt8 { input[input.startIndex + offset] }

    /// The index of the token after `index` and everything inside it: the next sibling, or the
    /// next token of an enclosing container, or `tokens.count`.
    func skip(_ index: Int) -> Int {
        let token = tokens[index]
        guard token.isContainer else { return index + 1 }
        // The first token that starts at or after this value's end. Tokens start at distinct
        // offsets inside the value, so at most `end - start` of them lie inside it.
        let end = token.end
        var low = index + 1
        var high = min(tokens.count, low + (end - token.start))
        while low < high {
            let middle = (low + high) / 2
            if tokens[middle].start < end { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The tokens directly inside container `index`, in input order (for a dictionary: key, value,
    /// key, value...).
    func children(of index: Int) -> Children {
        Children(tape: self, following: index + 1, end: tokens[index].end)
    }

    /// Iterates the values directly inside one container.
    struct Children: Sequence, IteratorProtocol, Sendable {
        let tape: BencodeTape
        /// The next child's token index.
        var following: Int
        /// The container's end offset.
        let end: Int

        mutating func next() -> Int? {
            guard following < tape.tokens.count, tape.tokens[following].start < end else { return nil }
            let current = following
            following = tape.skip(current)
            return current
        }
    }

    /// The offsets of string `index`'s content (after its length prefix and `:`).
    func stringContent(_ index: Int) -> Range<Int> {
        let token = tokens[index]
        var colon = token.start
        while byte(at: colon) != UInt8(ascii: ":") { colon += 1 }
        return colon + 1..<token.end
    }

    /// The value of integer `index` (already checked by the decoder to fit in `Int64`).
    func integer(_ index: Int) -> Int64 {
        let token = tokens[index]
        var position = token.start + 1
        let negative = byte(at: position) == UInt8(ascii: "-")
        if negative { position += 1 }
        var magnitude: UInt64 = 0
        while position < token.end - 1 {
            magnitude = magnitude &* 10 &+ UInt64(byte(at: position) &- UInt8(ascii: "0"))
            position += 1
        }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(truncatingIfNeeded: magnitude)
    }

    /// True when the content of string `index` equals `wanted`.
    func stringEquals(_ index: Int, _ wanted: String.UTF8View) -> Bool {
        let content = stringContent(index)
        guard content.count == wanted.count else { return false }
        var offset = content.lowerBound
        for byte in wanted {
            if self.byte(at: offset) != byte { return false }
            offset += 1
        }
        return true
    }
}
