/// The eight reserved bytes of the peer handshake, where clients announce the extensions they speak.
///
/// The raw value holds the eight bytes as one big-endian integer: byte 0 of the wire is the most
/// significant byte and byte 7 the least, so bit `0x04` of byte 7 is `rawValue & 0x04` and bit
/// `0x10` of byte 5 is `rawValue & (0x10 << 16)`. Bits this type does not name survive a round trip.
public struct ReservedBits: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The eight bytes as a big-endian integer.
    public var rawValue: UInt64

    /// Wraps eight bytes read as a big-endian integer.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Reads eight bytes, byte 0 first as on the wire; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 8 else { return nil }
        self.rawValue = bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    /// The eight bytes in wire order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: rawValue >> (56 - 8 * $0)) }
    }

    /// Names the bit `mask` of wire byte `byte` (0...7).
    public static func bit(byte: Int, mask: UInt8) -> ReservedBits {
        precondition((0..<8).contains(byte), "reserved byte index out of range")
        return ReservedBits(rawValue: UInt64(mask) << (8 * (7 - byte)))
    }

    /// Whether bit `mask` of wire byte `byte` (0...7) is set.
    public func isSet(byte: Int, mask: UInt8) -> Bool {
        contains(.bit(byte: byte, mask: mask))
    }

    /// The DHT port message (BEP 5): bit `0x01` of byte 7.
    public static let dht = ReservedBits(rawValue: 0x01)
    /// The Fast extension (BEP 6): bit `0x04` of byte 7.
    public static let fast = ReservedBits(rawValue: 0x04)
    /// The upgrade to BitTorrent v2 for hybrid torrents (BEP 52): bit `0x10` of byte 7.
    public static let v2Upgrade = ReservedBits(rawValue: 0x10)
    /// The extension protocol (BEP 10): bit `0x10` of byte 5.
    public static let extensionProtocol = ReservedBits(rawValue: 0x10 << 16)

    /// Whether the Fast extension bit is set.
    public var supportsFast: Bool { contains(.fast) }
    /// Whether the extension protocol bit is set.
    public var supportsExtensionProtocol: Bool { contains(.extensionProtocol) }
    /// Whether the DHT bit is set.
    public var supportsDHT: Bool { contains(.dht) }
    /// Whether the v2 upgrade bit is set.
    public var supportsV2Upgrade: Bool { contains(.v2Upgrade) }

    /// Sixteen hexadecimal digits in wire order, e.g. `0000000000100005`.
    public var description: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
