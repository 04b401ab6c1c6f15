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

    /// The body of one announce's HTTP reply.
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
