/// How near a session's run is to its end: whether completing ends it, a stop asked for, the fault that
/// ends it (the first one only), and whether its connections are closing (what peers say is then no
/// longer answered); and the waker of its loop, which such changes (and new peers) wake.
struct SessionLifecycle {
    /// The run ends once every wanted piece is verified (else it seeds on until stopped).
    let stopWhenComplete: Bool
    /// Wakes the run's loop between ticks (see ``TorrentSession/wakeLoop()``).
    var waker = LoopWaker()
    /// ``TorrentSession/stop()`` was called (or the run was cancelled).
    private(set) var stopRequested = false
    /// The fault that stops the torrent (disk full, unwritable folder...): the first one reported.
    private(set) var failure: String?
    /// Connections are half-closed: nothing more is sent or answered.
    private(set) var closingPeers = false

    init(stopWhenComplete: Bool = true) {
        self.stopWhenComplete = stopWhenComplete
    }

    /// True while neither a stop nor a fault ends the run.
    var isRunning: Bool { !stopRequested && failure == nil }

    /// A stop was asked for.
    mutating func requestStop() {
        stopRequested = true
    }

    /// Records `reason` as the fault that stops the torrent; false (and nothing recorded) when an earlier
    /// fault stops it already.
    mutating func fail(_ reason: String) -> Bool {
        guard failure == nil else { return false }
        failure = reason
        return true
    }

    /// Connections start closing; false when they are closing already.
    mutating func startClosingPeers() -> Bool {
        guard !closingPeers else { return false }
        closingPeers = true
        return true
    }
}
