extension TrackerUpdate {
    /// The update that records `status` for the torrent `torrentId`.
    package init(_ status: TrackerStatus, torrentId: Int64) {
        self.init(
            torrentId: torrentId, url: status.url, lastAnnounceAt: status.lastAnnounceAt,
            nextAnnounceAt: status.nextAnnounceAt, seeders: status.seeders, leechers: status.leechers,
            completed: status.completed, lastError: status.lastError, trackerId: status.trackerId,
            lastScrapeAt: status.lastScrapeAt, scrapeError: status.scrapeError)
    }
}
