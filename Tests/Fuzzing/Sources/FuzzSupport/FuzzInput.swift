/// The bytes of one fuzzer input, read front to back as structured choices.
///
/// libFuzzer mutates bytes, not values: a target that needs a configuration and a stream (the peer
/// state machine) reads its choices from the front with these methods and passes the rest on. Every
/// read succeeds; past the end, numbers read as zero and byte runs as empty, so any input is valid.
public struct FuzzInput {
    private var bytes: ArraySlice<UInt8>

    /// The `size` bytes at `data`, as libFuzzer passes them to `LLVMFuzzerTestOneInput`.
    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        self.init(Self.copy(data, size))
    }

    /// The given bytes.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes[...]
    }

    /// A copy of the `size` bytes at `data` (libFuzzer passes a null pointer for an empty input).
    public static func copy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The bytes not read yet.
    public var remaining: ArraySlice<UInt8> { bytes }

    /// Whether every byte has been read.
    public var isEmpty: Bool { bytes.isEmpty }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        bytes.popFirst() ?? 0
    }

    /// The next byte as a flag (its lowest bit).
    public mutating func flag() -> Bool {
        byte() & 1 == 1
    }

    /// The next `T.bitWidth / 8` bytes as a big-endian integer, missing bytes read as zero.
    public mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) -> T {
        var value: T = 0
        for _ in 0..<(T.bitWidth / 8) {
            value = value << 8 | T(byte())
        }
        return value
    }

    /// A number in `0..<bound` (or 0 when `bound` is 0), from two bytes.
    public mutating func number(below bound: Int) -> Int {
        guard bound > 0 else { return 0 }
        return Int(integer(UInt16.self)) % bound
    }

    /// A run of at most `limit` bytes whose length comes from the next two bytes.
    public mutating func chunk(upTo limit: Int) -> ArraySlice<UInt8> {
        let length = min(Int(integer(UInt16.self)), limit, bytes.count)
        defer { bytes = bytes.dropFirst(length) }
        return bytes.prefix(length)
    }

    /// Skips the next `count` bytes (or all that are left).
    public mutating func skip(_ count: Int) {
        bytes = bytes.dropFirst(count)
    }

    /// Every byte not read yet; the input is empty afterwards.
    public mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}
