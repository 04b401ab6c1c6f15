import Engine

/// What a torrent is added from.
package enum TorrentSource: Sendable {
    /// A parsed `.torrent` file; its raw bytes are stored.
    case metainfo(Metainfo)
    /// A magnet link; the metadata comes later from peers.
    case magnet(MagnetLink)

    /// The info-hash(es) that identify the torrent.
    package var infoHashes: InfoHashes {
        switch self {
        case .metainfo(let metainfo): metainfo.infoHashes
        case .magnet(let magnet): magnet.infoHashes
        }
    }
}
