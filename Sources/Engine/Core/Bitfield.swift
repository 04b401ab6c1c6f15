/// A fixed number of bits packed most significant bit first, exactly as in the peer wire `bitfield`
/// message (BEP 3): bit 0 is the high bit of byte 0. Spare bits at the end of the last byte are always zero.
///
/// Used for the verified pieces of a torrent and for the finished blocks of one unfinished piece.
public struct Bitfield: Hashable, Sendable, CustomStringConvertible {
    /// The number of bits.
    public let count: Int
    /// The packed bytes, `(count + 7) / 8` of them, spare bits zero.
    public private(set) var bytes: [UInt8]

    /// The number of bytes that hold `count` bits.
    public static func byteCount(for count: Int) -> Int { (count + 7) / 8 }

    /// `count` bits, all clear (or all set when `value` is true).
    public init(count: Int, allSet value: Bool = false) {
        precondition(count >= 0, "a bitfield cannot have a negative size")
        self.count = count
        self.bytes = [UInt8](repeating: value ? 0xff : 0, count: Self.byteCount(for: count))
        if value { clearSpareBits() }
    }

    /// Wraps packed bytes; `nil` when there are not exactly `(count + 7) / 8` of them or a spare bit is set
    /// (a peer that sends such a bitfield is misbehaving).
    public init?(bytes: [UInt8], count: Int) {
        guard count >= 0, bytes.count == Self.byteCount(for: count) else { return nil }
        let spare = bytes.count * 8 - count
        if spare > 0, bytes[bytes.count - 1] & UInt8(truncatingIfNeeded: (1 << spare) - 1) != 0 { return nil }
        self.count = count
        self.bytes = bytes
    }

    /// Parses a string of `0` and `1` (other characters are not allowed), for compact test fixtures.
    public init?(pattern: String) {
        var bits = Bitfield(count: pattern.utf8.count)
        for (index, character) in pattern.utf8.enumerated() {
            switch character {
            case UInt8(ascii: "0"): break
            case UInt8(ascii: "1"): bits.set(index)
            default: return nil
            }
        }
        self = bits
    }

    /// Whether bit `index` is set. `index` must be in `0..<count`.
    public func contains(_ index: Int) -> Bool {
        precondition(index >= 0 && index < count, "bit \(index) out of 0..<\(count)")
        return bytes[index >> 3] & (0x80 >> UInt8(index & 7)) != 0
    }

    /// Sets bit `index` to `value`. `index` must be in `0..<count`.
    public mutating func set(_ index: Int, to value: Bool = true) {
        precondition(index >= 0 && index < count, "bit \(index) out of 0..<\(count)")
        let mask: UInt8 = 0x80 >> UInt8(index & 7)
        if value {
            bytes[index >> 3] |= mask
        } else {
            bytes[index >> 3] &= ~mask
        }
    }

    /// Clears bit `index`. `index` must be in `0..<count`.
    public mutating func clear(_ index: Int) { set(index, to: false) }

    /// Reads or writes bit `index`.
    public subscript(index: Int) -> Bool {
        get { contains(index) }
        set { set(index, to: newValue) }
    }

    /// The number of set bits.
    public var cardinality: Int { bytes.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// True when no bit is set (also when `count` is zero).
    public var isNone: Bool { bytes.allSatisfy { $0 == 0 } }

    /// True when every bit is set (also when `count` is zero).
    public var isAll: Bool { cardinality == count }

    /// The indices of the set bits, ascending.
    public var setIndices: [Int] {
        var result: [Int] = []
        for (byteIndex, byte) in bytes.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (0x80 >> UInt8(bit)) != 0 {
                result.append(byteIndex * 8 + bit)
            }
        }
        return result
    }

    /// The bits as `0` and `1` characters, bit 0 first.
    public var description: String {
        String(decoding: (0..<count).map { contains($0) ? UInt8(ascii: "1") : UInt8(ascii: "0") }, as: UTF8.self)
    }

    private mutating func clearSpareBits() {
        let spare = bytes.count * 8 - count
        guard spare > 0 else { return }
        bytes[bytes.count - 1] &= ~UInt8(truncatingIfNeeded: (1 << spare) - 1)
    }
}
