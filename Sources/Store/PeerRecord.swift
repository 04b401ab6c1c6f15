import Engine
import Foundation
import GRDB

/// What btq remembers about one peer of one torrent (`btq peers`).
package struct PeerRecord: Sendable, Codable, Hashable {
    /// The torrent.
    package var torrentId: Int64
    /// IPv4 dotted quad or IPv6 text without brackets.
    package var address: String
    /// Port.
    package var port: Int
    /// The peer id from its handshake, 40 lower-case hex digits, when known.
    package var peerId: String?
    /// Client name, when known.
    package var client: String?
    /// Where the address came first from (`tracker`, `dht`, `pex`, `lsd`, `incoming`, `magnet`, `manual`).
    package var source: String
    /// First sighting.
    package var firstSeenAt: Date
    /// Last sighting.
    package var lastSeenAt: Date
    /// Payload bytes received from it, over all sessions.
    package var downloaded: Int64
    /// Payload bytes sent to it, over all sessions.
    package var uploaded: Int64
    /// Pieces it contributed to that failed their hash check.
    package var hashFailures: Int
    /// Banned for bad data.
    package var isBanned: Bool
    /// How it was last connected: `tcp`, `tcp+rc4` (MSE/PE, RC4) or `tcp+plain-mse` (MSE/PE, plaintext
    /// payload); `nil` when never connected.
    package var transport: String?

    /// The columns ``init(row:)`` reads, in order.
    static let columns = """
        torrent_id, address, port, peer_id, client, source, first_seen_at, last_seen_at, downloaded, uploaded, \
        hash_failures, banned, transport
        """

    /// Decodes a row selected with ``columns``.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` for a value btq never writes, naming the torrent.
    init(row: Row) throws {
        var stored = StoredRow(row: row, table: "peers")
        torrentId = try stored.integer(0, "torrent_id", in: Int64.min...Int64.max)
        stored.torrentId = torrentId
        address = try stored.text(1, "address")
        port = try stored.int(2, "port", in: 1...65535)
        peerId = try stored.optionalBlob(3, "peer_id").map { HexCoding.encode($0) }
        client = try stored.optionalText(4, "client")
        source = try stored.text(5, "source")
        firstSeenAt = Date(millisecondsSince1970: try stored.integer(6, "first_seen_at", in: TorrentRecord.times))
        lastSeenAt = Date(millisecondsSince1970: try stored.integer(7, "last_seen_at", in: TorrentRecord.times))
        downloaded = try stored.integer(8, "downloaded")
        uploaded = try stored.integer(9, "uploaded")
        hashFailures = try stored.int(10, "hash_failures")
        isBanned = try stored.bool(11, "banned")
        transport = try stored.optionalText(12, "transport")
    }
}
