/// A magnet link's info dictionary as fetched from peers, checked against its info-hash.
package struct FetchedMetadata: Sendable {
    /// The info dictionary's bytes.
    package var infoBytes: [UInt8]
    /// The peers that sent it.
    package var sources: [PeerAddress]
    /// Every address the fetcher knew and did not ban, with where it came from, for the download.
    package var peers: [(address: PeerAddress, source: PeerUpdate.Source)]
    /// For a v2 torrent, the piece layer of each file longer than a piece (by `pieces root`), fetched
    /// with hash requests and proved against the root; empty otherwise.
    package var pieceLayers: [[UInt8]: [UInt8]] = [:]
}
