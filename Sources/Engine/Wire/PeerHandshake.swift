/// The 68-byte handshake both peers send first: `\x13BitTorrent protocol`, eight reserved bytes,
/// the 20-byte info-hash and the 20-byte peer id.
public struct PeerHandshake: Hashable, Sendable {
    /// The protocol name that follows the length byte, as UTF-8.
    public static let protocolName: [UInt8] = Array("BitTorrent protocol".utf8)
    /// The byte count of a handshake on the wire.
    public static let encodedLength = 1 + 19 + 8 + 20 + 20

    /// The 20-byte info-hash (for v2 torrents the truncated SHA-256).
    public let infoHash: [UInt8]
    /// The 20-byte peer id.
    public let peerId: [UInt8]
    /// The extensions announced in the reserved bytes.
    public var reserved: ReservedBits

    /// Builds a handshake; `infoHash` and `peerId` must be 20 bytes each.
    public init(infoHash: [UInt8], peerId: [UInt8], reserved: ReservedBits = []) {
        precondition(infoHash.count == 20, "an info-hash in the handshake is 20 bytes")
        precondition(peerId.count == 20, "a peer id is 20 bytes")
        self.infoHash = infoHash
        self.peerId = peerId
        self.reserved = reserved
    }

    /// Builds a handshake for a torrent; see ``InfoHashes/wireHash``.
    public init(infoHashes: InfoHashes, peerId: [UInt8], reserved: ReservedBits = []) {
        self.init(infoHash: infoHashes.wireHash, peerId: peerId, reserved: reserved)
    }
}
