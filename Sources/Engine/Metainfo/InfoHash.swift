/// A BitTorrent v1 info-hash: the SHA-1 of the bencoded info dictionary, 20 bytes.
public struct InfoHashV1: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 20 raw bytes.
    public let bytes: [UInt8]

    /// Wraps 20 raw bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 20 else { return nil }
        self.bytes = bytes
    }

    /// Parses 40 hexadecimal digits (either case).
    public init?(hex: String) {
        guard let bytes = HexCoding.decode(hex), bytes.count == 20 else { return nil }
        self.bytes = bytes
    }

    /// Lower-case hexadecimal, 40 digits.
    public var hex: String { HexCoding.encode(bytes) }
    /// Same as ``hex``.
    public var description: String { hex }

    /// Orders by bytes, so listings are stable.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// A BitTorrent v2 info-hash (BEP 52): the SHA-256 of the bencoded info dictionary, 32 bytes.
public struct InfoHashV2: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 32 raw bytes.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 hexadecimal digits (either case).
    public init?(hex: String) {
        guard let bytes = HexCoding.decode(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Lower-case hexadecimal, 64 digits.
    public var hex: String { HexCoding.encode(bytes) }
    /// Same as ``hex``.
    public var description: String { hex }
    /// The first 20 bytes: what v2 peers put in the handshake and announce to trackers.
    public var truncated: [UInt8] { Array(bytes.prefix(20)) }

    /// Orders by bytes, so listings are stable.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// The identity of a torrent: its v1 info-hash, its v2 info-hash, or both (a hybrid torrent).
public struct InfoHashes: Hashable, Sendable, CustomStringConvertible {
    /// The SHA-1 info-hash of v1 and hybrid torrents.
    public let v1: InfoHashV1?
    /// The SHA-256 info-hash of v2 and hybrid torrents.
    public let v2: InfoHashV2?

    /// At least one of the two must be present.
    public init?(v1: InfoHashV1?, v2: InfoHashV2?) {
        guard v1 != nil || v2 != nil else { return nil }
        self.v1 = v1
        self.v2 = v2
    }

    /// The v1 hash when there is one, else the v2 hash: the hash btq shows and names a torrent by.
    public var primaryHex: String { v1?.hex ?? v2!.hex }
    /// The 20 bytes that go into the handshake and tracker announces.
    public var wireHash: [UInt8] { v1?.bytes ?? v2!.truncated }
    /// Same as ``primaryHex``.
    public var description: String { primaryHex }
}

/// Hexadecimal encoding helpers shared by the hash types.
public enum HexCoding {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hexadecimal of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes an even number of hexadecimal digits; `nil` on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
