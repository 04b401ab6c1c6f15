/// Knobs of a torrent session. The defaults suit a desktop download; tests shorten the timers.
package struct SessionConfiguration: Sendable {
    /// Our peer id (20 bytes).
    package var peerId: [UInt8]
    /// The TCP port we tell trackers and peers we listen on.
    package var listenPort: UInt16
    /// Most peer connections per torrent.
    package var maxPeers: Int
    /// Most connection attempts in flight at once.
    package var maxConnecting: Int
    /// Connect timeout for outgoing connections.
    package var connectTimeout: Duration
    /// A peer that does not complete its handshake within this time is dropped.
    package var handshakeTimeout: Duration
    /// A peer that sends nothing for this long is dropped (keep-alives count).
    package var inactivityTimeout: Duration
    /// A peer with requests outstanding that sends no block for this long is snubbed: its requests go
    /// back to the pool for others.
    package var snubTimeout: Duration
    /// How often the session ticks (rates, connections, progress, persistence).
    package var tickInterval: Duration
    /// Hash failures after which a peer that shared a bad piece with others is banned (a peer that
    /// sent a whole bad piece alone is banned at once).
    package var hashFailuresToBan: Int
    /// How long to wait before dialling an address again after a clean close (it was handshaken).
    package var reconnectDelay: Duration
    /// After the n-th failure in a row (cannot connect, no handshake), an address waits n + 1 times this
    /// before it is dialled again: 2, then 3 minutes, as libtorrent's `min_reconnect_time`. A gone peer
    /// listed for every torrent of a seedbox then costs a few attempts over minutes, not a dozen.
    package var failedReconnectDelay = SessionConfiguration.defaultFailedReconnectDelay
    package static let defaultFailedReconnectDelay = Duration.seconds(60)
    /// Failures in a row (cannot connect, no handshake) after which an address is forgotten (libtorrent's
    /// `max_failcount`, 3).
    package var maxConnectAttempts: Int
    package static let defaultMaxConnectAttempts = 3
    /// How often progress goes to the resume store (one transaction each); a crash loses at most about
    /// two of these intervals of downloaded data.
    package var journalInterval: Duration
    /// How often the data files are synced and the journaled progress is made durable (survives a power
    /// loss).
    package var checkpointInterval: Duration
    /// Peers unchoked for their rates (or in turn while seeding), besides the one optimistic unchoke.
    package var uploadSlots: Int = 4
    /// How often the choker reconsiders who is unchoked (the optimistic unchoke rotates every third time).
    package var rechokeInterval: Duration = .seconds(10)
    /// The most requests a peer may have queued with us (announced as `reqq`); more are rejected. Some
    /// clients keep exactly this many outstanding and refill about once a second (Transmission), so it
    /// bounds their download rate from us: 2000 blocks a second is about 33 MB/s.
    package var maxPeerRequests: Int = 2000
    /// Most addresses a torrent keeps to dial (from trackers, peer exchange, the magnet link, the user);
    /// past it, a new address only takes the place of one that keeps failing. An address is forgotten
    /// after ``maxConnectAttempts`` failures in a row.
    package var maxPeerCandidates: Int = 3000
    /// The bytes held for peers and their limits, shared by every session of a process and its listener:
    /// a peer whose send queue passes the limit is not read from, and dropped if it does not drain.
    package var memoryBudget = PeerMemoryBudget()
    /// The bound on idle open files shared by every torrent's storage of the process (`nil`: each
    /// storage keeps its own small cache only).
    package var openFiles: OpenFileBudget?
    /// The bound on start checks running at once, shared by every session of the process (`nil`: each
    /// session checks as soon as it starts).
    package var startChecks: TurnGate?
    /// The session checks what it has, then waits for ``TorrentSession/goOn()`` or ``TorrentSession/stop()``
    /// before it announces, dials or accepts a peer: the queue starts torrents that never ran this way ahead
    /// of their download slot (``TransferSettings/checkAhead``), and lets each go on once it knows whether it
    /// seeds, downloads in a free slot, or waits `queued` with its data checked.
    package var holdsAfterStartCheck = false
    /// The web seeds' connections and limits (BEP 19).
    package var webSeeds = WebSeedConfiguration()
    /// MSE/PE for the connections we dial (the `encryption` setting) and the peers remembered as
    /// plaintext-only, shared by every session of a process. `disable` unless set: `btq run` and
    /// `btq get` always set it from the setting (`prefer` by default); the engine's in-process tests
    /// dial plaintext stand-ins.
    package var encryption = PeerEncryption(policy: .disable)
    /// The transports dialled (the `enable_tcp` and `enable_utp` settings, the listen port's uTP
    /// sockets) and what worked per address, shared by every session of a process. TCP only unless
    /// set: `btq run` and `btq get` set it from the settings and the listener.
    package var transports = PeerTransports.tcpOnly
    /// The pace of connection attempts over every session of a process (the `dials_per_second` setting;
    /// `nil`: none, each session dials as its own limits allow).
    package var dialPace: DialPace?
    /// The attempts to addresses never failed a run makes at once before any waits for ``dialPace``, so
    /// that a torrent that starts reaches its first peers without a turn (libtorrent's
    /// `torrent_connect_boost`); retries of addresses that failed always wait for the pace.
    package var dialBoost = SessionConfiguration.defaultDialBoost
    package static let defaultDialBoost = 30

    /// Defaults with a fresh peer id.
    package init(
        peerId: [UInt8] = PeerID.generate(), listenPort: UInt16 = 6881, maxPeers: Int = 60, maxConnecting: Int = 16,
        connectTimeout: Duration = .seconds(5), handshakeTimeout: Duration = .seconds(10),
        inactivityTimeout: Duration = .seconds(180), snubTimeout: Duration = .seconds(30),
        tickInterval: Duration = .milliseconds(500), hashFailuresToBan: Int = 3, reconnectDelay: Duration = .seconds(5),
        maxConnectAttempts: Int = SessionConfiguration.defaultMaxConnectAttempts,
        journalInterval: Duration = .milliseconds(100),
        checkpointInterval: Duration = .seconds(5)
    ) {
        precondition(peerId.count == 20, "a peer id is 20 bytes")
        self.peerId = peerId
        self.listenPort = listenPort
        self.maxPeers = maxPeers
        self.maxConnecting = maxConnecting
        self.connectTimeout = connectTimeout
        self.handshakeTimeout = handshakeTimeout
        self.inactivityTimeout = inactivityTimeout
        self.snubTimeout = snubTimeout
        self.tickInterval = tickInterval
        self.hashFailuresToBan = hashFailuresToBan
        self.reconnectDelay = reconnectDelay
        self.maxConnectAttempts = maxConnectAttempts
        self.journalInterval = journalInterval
        self.checkpointInterval = checkpointInterval
    }
}
