import Engine
import Foundation
import GRDB

/// What btq remembers about one peer of one torrent (`btq peers`).
public struct PeerRecord: Sendable, Codable, Hashable {
    /// The torrent.
    public var torrentId: Int64
    /// IPv4 dotted quad or IPv6 text without brackets.
    public var address: String
    /// Port.
    public var port: Int
    /// The peer id from its handshake, 40 lower-case hex digits, when known.
    public var peerId: String?
    /// Client name, when known.
    public var client: String?
    /// Where the address came first from (`tracker`, `dht`, `pex`, `lsd`, `incoming`, `magnet`, `manual`).
    public var source: String
    /// First sighting.
    public var firstSeenAt: Date
    /// Last sighting.
    public var lastSeenAt: Date
    /// Payload bytes received from it, over all sessions.
    public var downloaded: Int64
    /// Payload bytes sent to it, over all sessions.
    public var uploaded: Int64
    /// Pieces it contributed to that failed their hash check.
    public var hashFailures: Int
    /// Banned for bad data.
    public var isBanned: Bool

    /// The columns ``init(row:)`` reads, in order.
    static let columns = """
        torrent_id, address, port, peer_id, client, source, first_seen_at, last_seen_at, downloaded, uploaded, \
        hash_failures, banned
        """

    init(row: Row) {
        torrentId = row[0]
        address = row[1]
        port = row[2]
        peerId = (row[3] as Data?).map { HexCoding.encode($0) }
        client = row[4]
        source = row[5]
        firstSeenAt = Date(millisecondsSince1970: row[6])
        lastSeenAt = Date(millisecondsSince1970: row[7])
        downloaded = row[8]
        uploaded = row[9]
        hashFailures = row[10]
        isBanned = row[11]
    }
}
