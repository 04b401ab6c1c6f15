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
/// - Limits on nesting depth, number of values and input length (``Limits``); inputs of 512 MiB
///   or more are refused whatever the limits.
///
/// The decoder is iterative (an explicit stack, not recursion), so hostile nesting cannot exhaust
/// the thread's stack. It builds no tree: the result is a view into a ``BencodeTape`` of one
/// 8-byte token per value beside the input (see ``BencodeScanner``), and values are read from the
/// input only when asked for. Every error carries the offset of the offending byte.
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
    /// When set, lists and dictionaries nested deeper than this (a top-level container is depth 1)
    /// are checked but get no tokens of their own until read: each is decoded again, alone, when
    /// navigation reaches it (see ``BencodeTape``). For inputs that are long lists of small
    /// containers, read once each: the memory of the decoded form then stays that of one container.
    public var tapeDepth: Int?
    /// Once the decoded form holds this many tokens (8 bytes each), the rest of the input is checked
    /// without recording anything before decoding goes on, so that an input refused for its values
    /// never costs a token per value. It changes no outcome, only when the work is done; the default
    /// (2^20) is past what any real torrent needs. Tests and fuzz targets set it low.
    public var lookAheadTokens = 1 << 20

    /// Creates a decoder.
    public init(limits: Limits = .default, keyOrder: KeyOrder = .strict, tapeDepth: Int? = nil) {
        self.limits = limits
        self.keyOrder = keyOrder
        self.tapeDepth = tapeDepth
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
        let maxInputLength = min(limits.maxInputLength, BencodeTape.maxInputLength - 1)
        guard bytes.count <= maxInputLength else {
            throw BencodeError(.inputTooLarge, at: bytes.startIndex + maxInputLength)
        }
        let result = bytes.withUnsafeBufferPointer { buffer in
            var scanner = BencodeScanner(
                buffer: buffer, base: bytes.startIndex, limits: limits, strictKeyOrder: keyOrder == .strict,
                tapeDepth: max(1, tapeDepth ?? .max), lookAheadTokens: lookAheadTokens)
            return Result { () throws(BencodeError) in
                try scanner.scanValue()
                return scanner.tokens
            }
        }
        var opener = self
        opener.tapeDepth = nil
        let tape = BencodeTape(input: bytes, tokens: try result.get(), decoder: opener)
        return BencodeNode(tape: tape, index: 0)
    }
}
