import Engine
import Foundation

extension OpenTracker {
    /// The peers opentracker knows for `torrent`, as it hands them out: asked by an announce of a probe
    /// peer (port 9, nothing listens there) that leaves the swarm again right after.
    func peers(of torrent: TestTorrent) throws -> [PeerAddress] {
        let hash = torrent.metainfo.infoHashes.wireHash
        let query =
            "/announce?info_hash=\(Self.percentEncoded(hash))&peer_id=-E2E000-peersprobe01"
            + "&port=9&uploaded=0&downloaded=0&left=1&compact=1&numwant=200"
        let reply = try Self.announce(port: port, path: query)
        _ = try? Self.announce(port: port, path: query + "&event=stopped")
        return try HTTPTrackerResponse.announce(reply).peers
    }

    /// Announces a probe leecher (`left` 1, port 9: nothing listens there) that stays in the swarm of
    /// `torrent`: opentracker counts it among the leechers until it times out.
    func announceLeecher(of torrent: TestTorrent) throws {
        let hash = torrent.metainfo.infoHashes.wireHash
        let query =
            "/announce?info_hash=\(Self.percentEncoded(hash))&peer_id=-E2E000-leecherprob1"
            + "&port=9&uploaded=0&downloaded=0&left=1&compact=1&numwant=1&event=started"
        _ = try HTTPTrackerResponse.announce(try Self.announce(port: port, path: query))
    }

    /// What opentracker holds of `torrent`: its own answer to a scrape (BEP 48) over HTTP.
    func scrape(of torrent: TestTorrent) throws -> ScrapeResult {
        let hash = torrent.metainfo.infoHashes.wireHash
        let reply = try Self.announce(port: port, path: "/scrape?info_hash=\(Self.percentEncoded(hash))")
        return try HTTPTrackerResponse.scrape(reply, infoHash: hash)
    }

    /// The scrape requests it answered so far, over HTTP and over UDP (its `stats?mode=scrp` page, which
    /// counts requests, not the torrents in them).
    func scrapeRequests() throws -> (http: Int, udp: Int) {
        let lines = String(decoding: try Self.announce(port: port, path: "/stats?mode=scrp"), as: UTF8.self)
            .split(separator: "\n")
        guard lines.count >= 2, let http = Int(lines[0]), let udp = Int(lines[1]) else {
            throw HarnessError("opentracker's scrape stats: \(lines)")
        }
        return (http, udp)
    }

    /// The body of one HTTP reply (announce or scrape).
    private static func announce(port: UInt16, path: String) throws -> [UInt8] {
        let connection = try LoopbackConnection(port: port)
        try connection.send(Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
        let response = connection.readToEnd()
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let start = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            throw HarnessError("opentracker's reply has no body: \(String(decoding: response, as: UTF8.self))")
        }
        return Array(response[(start + separator.count)...])
    }
}

extension OpenTracker {
    /// Announces a seeder of `torrent` listening on `port` (`left` 0) on its behalf, over plain HTTP:
    /// for a seeder that cannot announce to the tracker itself (libtorrent does not trust a test CA).
    func announceSeeder(of torrent: TestTorrent, port seederPort: UInt16) throws {
        let hash = torrent.metainfo.infoHashes.wireHash
        let query =
            "/announce?info_hash=\(Self.percentEncoded(hash))&peer_id=-E2E000-seederprobe1"
            + "&port=\(seederPort)&uploaded=0&downloaded=0&left=0&compact=1&numwant=1&event=started"
        let connection = try LoopbackConnection(port: port)
        try connection.send(Array("GET \(query) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
        let reply = String(decoding: connection.readToEnd(), as: UTF8.self)
        guard reply.contains("200 OK"), !reply.contains("failure reason") else {
            throw HarnessError("opentracker refused the seeder's announce: \(reply)")
        }
    }
}
