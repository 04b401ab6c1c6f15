extension Scenario {
    /// The common start of a swarm test: a btq instance, an opentracker running on a free port, and a
    /// btq-made torrent of `content` that announces to it (over HTTP, or UDP with `udp`), whitelisted.
    /// The tracker is stopped with the scenario's other processes. `create` goes to `btq create`
    /// (`--v2`, `--hybrid`).
    func trackedTorrent(
        of content: TestContent, udp: Bool = false, create: [String] = []
    ) async throws -> (btq: Btq, torrent: TestTorrent) {
        let tracker = try OpenTracker(self)
        let btq = try Btq(self)
        let torrent = try await btq.create(
            content, trackers: [udp ? tracker.udpAnnounce : tracker.httpAnnounce], extra: create)
        try await tracker.start(whitelisting: [torrent])
        return (btq, torrent)
    }
}
