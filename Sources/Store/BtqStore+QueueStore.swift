import Engine

/// The database is the queue: the queue manager in Engine works it through these ports.
extension BtqStore: QueueStore, TorrentContentStore {
    package func torrents(ids: Set<Int64>) throws -> [TorrentRecord] {
        try torrents(ids: Array(ids))
    }

    package func trackerURLs(torrentId: Int64) throws -> [String] {
        try trackers(torrentId: torrentId).map(\.url)
    }
}
