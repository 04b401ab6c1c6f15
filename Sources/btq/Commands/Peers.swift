import ArgumentParser
import Engine
import Foundation
import Store

/// `btq peers`: every peer a torrent has met, most recently seen first.
struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "Show the peer history of a torrent.",
        discussion: """
            Each peer the torrent has met: its address, client (as it named itself, else decoded from its \
            peer id), where its address came from, when it was first and last seen, payload bytes each way \
            over all sessions, pieces it sent that failed their hash check, whether it is banned, and how it \
            was last connected (`tcp`, `tcp+rc4` for MSE/PE with RC4, `tcp+plain-mse` for MSE/PE with a \
            plaintext payload; `-` when never connected). \
            A web seed (BEP 19) shows its URL as the address, source `web-seed`, its state as the client \
            (resting after failures, or dropped and why), and banned once dropped.
            """
    )

    @OptionGroup var target: OneTorrent

    @Flag(name: .long, help: "Print JSON (see docs/json.md).")
    var json = false

    func run() throws {
        let (database, record) = try target.resolveForReading()
        let peers = try database.queries.peers(torrentId: record.id)
        if json {
            try JSONOutput.print(peers.map(PeerJSON.init))
            return
        }
        var table = Table([
            .init("ADDRESS"), .init("CLIENT", maxWidth: 30), .init("SOURCE"), .init("FIRST SEEN"),
            .init("LAST SEEN"), .init("DOWN", .right), .init("UP", .right), .init("HASH FAILS", .right),
            .init("BANNED"), .init("TRANSPORT"),
        ])
        for peer in peers {
            table.append([
                peer.endpoint,
                peer.clientName ?? "-",
                peer.source,
                Formatting.date(peer.firstSeenAt),
                Formatting.date(peer.lastSeenAt),
                Formatting.size(peer.downloaded),
                Formatting.size(peer.uploaded),
                "\(peer.hashFailures)",
                peer.isBanned ? "yes" : "no",
                peer.transport ?? "-",
            ])
        }
        print(table.render(), terminator: "")
    }
}

extension PeerRecord {
    /// `ip:port`, with an IPv6 address in brackets; a web seed's URL.
    var endpoint: String {
        if source == PeerUpdate.Source.webSeed.rawValue { return address }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// The client name the peer gave, else one decoded from its peer id.
    var clientName: String? {
        if let client, !client.isEmpty { return client }
        return peerId.flatMap(HexCoding.decode).flatMap(PeerID.clientName)
    }
}

/// One peer in `btq peers --json`.
struct PeerJSON: Encodable {
    let record: PeerRecord

    enum Keys: String, CodingKey {
        case address, port, client, source, downloaded, uploaded, banned, transport
        case clientName = "client_name"
        case torrentId = "torrent_id", peerId = "peer_id", firstSeenAt = "first_seen_at"
        case lastSeenAt = "last_seen_at", hashFailures = "hash_failures"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(record.torrentId, forKey: .torrentId)
        try c.encode(record.address, forKey: .address)
        try c.encode(record.port, forKey: .port)
        try c.encode(record.peerId, forKey: .peerId)
        try c.encode(record.client, forKey: .client)
        try c.encode(record.clientName, forKey: .clientName)
        try c.encode(record.source, forKey: .source)
        try c.encode(record.firstSeenAt, forKey: .firstSeenAt)
        try c.encode(record.lastSeenAt, forKey: .lastSeenAt)
        try c.encode(record.downloaded, forKey: .downloaded)
        try c.encode(record.uploaded, forKey: .uploaded)
        try c.encode(record.hashFailures, forKey: .hashFailures)
        try c.encode(record.isBanned, forKey: .banned)
        try c.encode(record.transport, forKey: .transport)
    }
}
