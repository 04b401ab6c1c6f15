/// The limits a ``QueueManager`` works within, as a value: how many torrents download and seed at once,
/// each session's share of the overall connection limit, the rate limits every session shares, and
/// whether a seed has seeded enough.
///
/// The manager reads the settings from the store at each pass and hands them over (``update(_:)``);
/// a scoped run (``QueueScope``) has a slot for each torrent it names, whatever the settings say.
struct QueueLimits {
    /// What every session is configured with, before its share of the connections.
    let configuration: SessionConfiguration
    /// `--max-active`: overrides the `max_active_downloads` setting.
    let fixedMaxActive: Int?
    /// Connections shared among the active torrents (downloads and seeds).
    let maxPeersOverall: Int
    /// What the manager works.
    let scope: QueueScope
    /// The process-wide rate limiters, shared by every session.
    let limiters = RateLimiters()
    /// The settings of this pass.
    private(set) var settings = TransferSettings()

    /// Takes the settings read for a pass; the shared rate limiters follow them. In a scoped run each
    /// named torrent has a seed slot when they seed, and none when they do not.
    mutating func update(_ settings: TransferSettings) {
        self.settings = settings
        if let only = scope.only {
            self.settings.maxSeeds = scope.seeds ? only.count : 0
        }
        limiters.apply(self.settings)
    }

    /// Torrents downloading at once: all those of a scoped run, else `--max-active`, else `setting` (the
    /// stored `max_active_downloads`, read only then; 3 when unset), at least one.
    func maxActive(setting: @autoclosure () -> Int?) -> Int {
        if let only = scope.only { return max(1, only.count) }
        if let fixedMaxActive { return fixedMaxActive }
        return max(1, setting().map { $0 < 0 ? TransferSettings.unlimitedSlots : $0 } ?? 3)
    }

    /// The configuration of a session while `maxActive` torrents may download: its share of the overall
    /// connection limit (at most its own limit). With no limit on the slots (`-1`), the limit is shared
    /// among the torrents worked now, `worked`, and the one starting.
    func sessionConfiguration(maxActive: Int, worked: Int = 0) -> SessionConfiguration {
        var configuration = self.configuration
        // Seeds are active torrents too: they share the overall limit with the downloads.
        var sharers = maxActive + max(0, settings.maxSeeds)
        if maxActive >= TransferSettings.unlimitedSlots || settings.maxSeeds >= TransferSettings.unlimitedSlots {
            sharers = max(1, worked + 1)
        }
        configuration.maxPeers = min(configuration.maxPeers, max(1, maxPeersOverall / sharers))
        return configuration
    }

    /// The rate limits of a session whose torrent has its own limits `own`, under the shared ones.
    func transferLimits(own: TorrentRateLimits) -> TransferLimits { limiters.limits(own: own) }

    /// Which seed limit a torrent has reached, said for the history, or `nil`: its ratio is `uploaded`
    /// over the bytes it `downloaded` (over `bytesDone` when it downloaded nothing: seeded from data in
    /// place), and it has seeded `seededSeconds`.
    func seedLimitReached(uploaded: Int64, downloaded: Int64, bytesDone: Int64, seededSeconds: Int64) -> String? {
        let base = downloaded > 0 ? downloaded : bytesDone
        return settings.seedLimitReached(uploaded: uploaded, base: base, seededSeconds: seededSeconds)
    }
}
