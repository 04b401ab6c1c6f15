/// Node ids tied to the node's IP address (BEP 42), so that a node cannot choose where in the id
/// space it sits: the id's first 21 bits are the CRC32-C of the masked address and a 3-bit random
/// value, which the id's last byte repeats.
public enum SecureNodeID {
    private static let maskV4: [UInt8] = [0x03, 0x0f, 0x3f, 0xff]
    private static let maskV6: [UInt8] = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff]

    /// An id for a node at `address` (4 or 16 bytes), with `random` as its last byte (its low 3 bits
    /// enter the hash) and `filler` for the bits BEP 42 leaves free. `nil` for another address length.
    public static func make(for address: [UInt8], random: UInt8, filler: NodeID = .random()) -> NodeID? {
        guard let prefix = prefix(address, random: random) else { return nil }
        var bytes = filler.bytes
        bytes[0] = UInt8(truncatingIfNeeded: prefix >> 24)
        bytes[1] = UInt8(truncatingIfNeeded: prefix >> 16)
        bytes[2] = UInt8(truncatingIfNeeded: prefix >> 8) & 0xf8 | bytes[2] & 0x07
        bytes[19] = random
        return NodeID(bytes)
    }

    /// True when `id` is a valid id for a node at `address` (4 or 16 bytes). Addresses BEP 42 exempts
    /// (loopback, private and link-local ranges) accept any id.
    public static func isValid(_ id: NodeID, for address: [UInt8]) -> Bool {
        if isExempt(address) { return true }
        let bytes = id.bytes
        guard let prefix = prefix(address, random: bytes[19]) else { return false }
        return bytes[0] == UInt8(truncatingIfNeeded: prefix >> 24)
            && bytes[1] == UInt8(truncatingIfNeeded: prefix >> 16)
            && bytes[2] & 0xf8 == UInt8(truncatingIfNeeded: prefix >> 8) & 0xf8
    }

    /// The CRC32-C of the masked address with the random value's low 3 bits in its top byte.
    private static func prefix(_ address: [UInt8], random: UInt8) -> UInt32? {
        let mask: [UInt8]
        switch address.count {
        case 4: mask = maskV4
        case 16: mask = maskV6
        default: return nil
        }
        var masked = zip(address.prefix(mask.count), mask).map { $0 & $1 }
        masked[0] |= (random & 0x07) << 5
        return CRC32C.checksum(masked)
    }

    /// Addresses whose nodes may use any id (BEP 42): 10/8, 172.16/12, 192.168/16, 169.254/16, 127/8,
    /// and IPv6 loopback, link-local and unique local addresses.
    public static func isExempt(_ address: [UInt8]) -> Bool {
        switch address.count {
        case 4:
            return address[0] == 10 || address[0] == 127 || (address[0] == 172 && address[1] & 0xf0 == 16)
                || (address[0] == 192 && address[1] == 168) || (address[0] == 169 && address[1] == 254)
        case 16:
            return address == [UInt8](repeating: 0, count: 15) + [1]
                || (address[0] == 0xfe && address[1] & 0xc0 == 0x80)
                || address[0] & 0xfe == 0xfc
        default:
            return false
        }
    }
}

/// CRC-32C (Castagnoli), the checksum BEP 42 hashes addresses with.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes`.
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
