/// How big a torrent's swarm is, as its trackers last said (announces and scrapes): the largest
/// figure any of its trackers reported, `nil` where none did.
package struct SwarmCounts: Sendable, Hashable {
    /// Peers that have everything.
    package var seeders: Int?
    /// Peers still downloading.
    package var leechers: Int?
    /// Downloads the tracker saw complete.
    package var completed: Int?

    /// Creates counts.
    package init(seeders: Int?, leechers: Int?, completed: Int?) {
        self.seeders = seeders
        self.leechers = leechers
        self.completed = completed
    }
}
