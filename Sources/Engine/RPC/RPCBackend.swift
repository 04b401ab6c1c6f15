import Foundation

/// What the RPC methods need of the daemon: the store and the queue manager, never a session. `btq run`
/// implements it over the same store calls as the command line, so a torrent added over RPC is the same
/// as one added by `btq add`. Every method may be called from any task.
public protocol RPCBackend: Sendable {
    /// Every torrent in the queue (removed ones not), in queue order, with what is live for the ones
    /// being worked.
    func torrents() async throws(RPCError) -> [RPCTorrent]
    /// The files, trackers and peers (those `needs` names; the others may be left empty) of each of
    /// `ids`, in one call for all of them: a client asks for every torrent's at each refresh. Asked only
    /// when a request names such fields; an id it leaves out has none.
    func details(of ids: [Int64], needs: RPCDetailNeeds) async throws(RPCError) -> [Int64: RPCTorrentDetails]
    /// Adds a torrent.
    func add(_ request: RPCAddRequest) async throws(RPCError) -> RPCAdded
    /// Starts, stops, verifies or reannounces torrents.
    func perform(_ action: RPCAction, on ids: [Int64]) async throws(RPCError)
    /// Removes torrents, their data too when `deleteData`.
    func remove(_ ids: [Int64], deleteData: Bool) async throws(RPCError)
    /// Changes what `torrent-set` names.
    func change(_ ids: [Int64], _ changes: RPCTorrentChanges) async throws(RPCError)
    /// Moves torrents in the queue.
    func move(_ ids: [Int64], _ move: RPCQueueMove) async throws(RPCError)
    /// The session's settings and facts.
    func session() async throws(RPCError) -> RPCSession
    /// Changes the settings `session-set` names; answers the names it does not keep.
    func changeSession(_ changes: RPCSessionChanges) async throws(RPCError) -> [String]
    /// Byte counters of this run and of all time.
    func statistics() async throws(RPCError) -> RPCStatistics
    /// Free bytes at `path` and the file system's size.
    func freeSpace(at path: String) async throws(RPCError) -> (free: Int64, total: Int64)
}

/// What `torrent-start`, `torrent-stop` and the like do.
public enum RPCAction: String, Sendable, Hashable {
    case start, startNow, stop, verify, reannounce
}

/// A `queue-move-*` method.
public enum RPCQueueMove: String, Sendable, Hashable {
    case top, up, down, bottom
}

/// btq's own state of a torrent, and how it shows to Transmission's clients.
public enum RPCTorrentState: Sendable, Hashable {
    case queued, checking, metadata, downloading, seeding, paused, completed, error
}

/// One torrent as `torrent-get` reports it (the cheap fields; files, trackers and peers are in
/// ``RPCTorrentDetails``).
public struct RPCTorrent: Sendable, Hashable {
    public var id: Int64
    public var hashString: String
    public var name: String
    public var state: RPCTorrentState
    /// Total bytes, 0 while a magnet's metadata is unknown.
    public var totalSize: Int64
    /// Bytes wanted (skipped files excluded).
    public var sizeWhenDone: Int64
    /// Verified bytes of the wanted ones.
    public var haveValid: Int64
    public var downloadedEver: Int64
    public var uploadedEver: Int64
    public var corruptEver: Int64
    public var rateDownload: Int64 = 0
    public var rateUpload: Int64 = 0
    public var peersConnected: Int = 0
    /// The connected peers by where their address came from (Transmission's `peersFrom`); all 0 for a
    /// torrent no session works, as in Transmission.
    public var peersFrom = RPCPeersFrom()
    /// Connected peers that sent us payload, and that we sent payload to, over the last seconds.
    public var peersSendingToUs = 0
    public var peersGettingFromUs = 0
    public var errorString: String?
    public var addedDate: Int64
    public var startDate: Int64 = 0
    public var doneDate: Int64 = 0
    public var activityDate: Int64 = 0
    public var downloadDir: String
    public var queuePosition: Int
    public var isPrivate: Bool
    public var isMagnet: Bool
    public var comment: String
    public var creator: String
    public var dateCreated: Int64
    public var pieceCount: Int
    public var pieceSize: Int
    public var fileCount: Int
    public var magnetLink: String
    public var downloadLimit: Int64 = 0
    public var uploadLimit: Int64 = 0
    public var seedRatioLimit: Double = 0
    /// True while a session works it (its rates are live).
    public var isActive = false

    public init(
        id: Int64, hashString: String, name: String, state: RPCTorrentState, totalSize: Int64, sizeWhenDone: Int64,
        haveValid: Int64, downloadedEver: Int64, uploadedEver: Int64, corruptEver: Int64, addedDate: Int64,
        downloadDir: String, queuePosition: Int, isPrivate: Bool, isMagnet: Bool, comment: String, creator: String,
        dateCreated: Int64, pieceCount: Int, pieceSize: Int, fileCount: Int, magnetLink: String
    ) {
        self.id = id
        self.hashString = hashString
        self.name = name
        self.state = state
        self.totalSize = totalSize
        self.sizeWhenDone = sizeWhenDone
        self.haveValid = haveValid
        self.downloadedEver = downloadedEver
        self.uploadedEver = uploadedEver
        self.corruptEver = corruptEver
        self.addedDate = addedDate
        self.downloadDir = downloadDir
        self.queuePosition = queuePosition
        self.isPrivate = isPrivate
        self.isMagnet = isMagnet
        self.comment = comment
        self.creator = creator
        self.dateCreated = dateCreated
        self.pieceCount = pieceCount
        self.pieceSize = pieceSize
        self.fileCount = fileCount
        self.magnetLink = magnetLink
    }
}

/// Connected peers by source, in Transmission's buckets (`peersFrom`). btq has no peers "from cache"
/// (Transmission's resume file) or "from LTEP": those are always 0; a peer given by the user or by a
/// magnet's `x.pe` is in none of them.
public struct RPCPeersFrom: Sendable, Hashable {
    public var tracker = 0
    public var dht = 0
    public var pex = 0
    public var lpd = 0
    public var incoming = 0
    public init() {}
}

/// Which parts of ``RPCTorrentDetails`` a request needs.
public struct RPCDetailNeeds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let files = RPCDetailNeeds(rawValue: 1 << 0)
    public static let trackers = RPCDetailNeeds(rawValue: 1 << 1)
    public static let peers = RPCDetailNeeds(rawValue: 1 << 2)
}

/// A torrent's files, trackers and peers.
public struct RPCTorrentDetails: Sendable, Hashable {
    /// One file.
    public struct File: Sendable, Hashable {
        public var name: String
        public var length: Int64
        public var bytesCompleted: Int64
        /// btq's priority: 0 skipped, 1...7 low to high, 4 normal.
        public var priority: Int
        public init(name: String, length: Int64, bytesCompleted: Int64, priority: Int) {
            self.name = name
            self.length = length
            self.bytesCompleted = bytesCompleted
            self.priority = priority
        }
    }

    /// One tracker and what it last said.
    public struct Tracker: Sendable, Hashable {
        public var id: Int64
        public var announce: String
        public var tier: Int
        public var seeders: Int?
        public var leechers: Int?
        public var downloads: Int?
        public var lastAnnounce: Int64
        public var nextAnnounce: Int64
        public var lastError: String?
        /// When it last answered a scrape (0: never), and why the last scrape failed.
        public var lastScrape: Int64
        public var scrapeError: String?
        public init(
            id: Int64, announce: String, tier: Int, seeders: Int?, leechers: Int?, downloads: Int?,
            lastAnnounce: Int64, nextAnnounce: Int64, lastError: String?, lastScrape: Int64 = 0,
            scrapeError: String? = nil
        ) {
            self.lastScrape = lastScrape
            self.scrapeError = scrapeError
            self.id = id
            self.announce = announce
            self.tier = tier
            self.seeders = seeders
            self.leechers = leechers
            self.downloads = downloads
            self.lastAnnounce = lastAnnounce
            self.nextAnnounce = nextAnnounce
            self.lastError = lastError
        }
    }

    /// A peer: of a running session, with its rates; else of the peer history (no rates).
    public struct Peer: Sendable, Hashable {
        public var address: String
        public var port: Int
        public var client: String
        public var downloaded: Int64
        public var uploaded: Int64
        /// Bytes per second from the peer to us, and from us to it.
        public var rateToClient: Int64 = 0
        public var rateToPeer: Int64 = 0
        /// The fraction of the pieces it has.
        public var progress: Double = 0
        /// Transmission's flag letters (D/d downloading, U/u uploading, E encrypted, I incoming...).
        public var flags = ""
        public var isEncrypted = false
        public var isIncoming = false
        /// Connected over uTP (else TCP).
        public var isUTP = false
        public var isDownloadingFrom = false
        public var isUploadingTo = false
        public init(address: String, port: Int, client: String, downloaded: Int64, uploaded: Int64) {
            self.address = address
            self.port = port
            self.client = client
            self.downloaded = downloaded
            self.uploaded = uploaded
        }
    }

    public var files: [File] = []
    public var trackers: [Tracker] = []
    public var peers: [Peer] = []

    public init(files: [File] = [], trackers: [Tracker] = [], peers: [Peer] = []) {
        self.files = files
        self.trackers = trackers
        self.peers = peers
    }
}

/// What `torrent-add` asks.
public struct RPCAddRequest: Sendable, Hashable {
    /// Where the torrent comes from.
    public enum Source: Sendable, Hashable {
        /// A `.torrent` file's bytes (`metainfo`).
        case metainfo([UInt8])
        /// A path on the daemon's machine.
        case path(String)
        /// A magnet link.
        case magnet(String)
    }

    public var source: Source
    public var downloadDir: String?
    public var paused = false
    /// File indexes and the priority each gets (btq's scale: 0 skipped, 1 low, 4 normal, 7 high).
    public var priorities: [Int: Int] = [:]

    public init(source: Source) { self.source = source }
}

/// A torrent `torrent-add` added, or found already there.
public struct RPCAdded: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var hashString: String
    public var isDuplicate: Bool
    public init(id: Int64, name: String, hashString: String, isDuplicate: Bool) {
        self.id = id
        self.name = name
        self.hashString = hashString
        self.isDuplicate = isDuplicate
    }
}

/// What `torrent-set` and `torrent-set-location` change.
public struct RPCTorrentChanges: Sendable, Hashable {
    /// File indexes and their new priority (btq's scale).
    public var priorities: [Int: Int] = [:]
    /// Bytes per second; 0 removes the limit.
    public var downloadLimit: Int64?
    public var uploadLimit: Int64?
    /// A new save folder, and whether the data moves there (btq does not move data).
    public var location: String?
    public var moveData = false
    public init() {}
}

/// What `session-set` changes of btq's settings (the ones btq has).
public struct RPCSessionChanges: Sendable, Hashable {
    /// Setting names (btq's) and their new values as `btq config set` stores them.
    public var settings: [String: String] = [:]
    /// Transmission's names that btq has no setting for.
    public var unsupported: [String] = []
    /// Slot settings (`max_active_downloads`, `max_active_seeds`) whose queue is turned on without a size:
    /// one now unlimited gets its default back, one already limited stays as it is.
    public var limitedAgain: [String] = []
    public init() {}
}

/// The session as `session-get` reports it.
public struct RPCSession: Sendable, Hashable {
    public var downloadDir: String
    public var peerPort: Int
    public var downloadLimit: Int64
    public var uploadLimit: Int64
    public var seedRatioLimit: Double
    public var seedIdleMinutes: Int64
    public var downloadQueueSize: Int
    public var seedQueueSize: Int
    public var dhtEnabled: Bool
    public var configDir: String
    public var rpcPort: Int
    /// The `encryption` setting in Transmission's words: `required`, `preferred`, or `tolerated` for
    /// btq's `disable` (Transmission has no mode that refuses encryption; `tolerated` is the nearest).
    public var encryption = "preferred"
    public init(
        downloadDir: String, peerPort: Int, downloadLimit: Int64, uploadLimit: Int64, seedRatioLimit: Double,
        seedIdleMinutes: Int64, downloadQueueSize: Int, seedQueueSize: Int, dhtEnabled: Bool, configDir: String,
        rpcPort: Int
    ) {
        self.downloadDir = downloadDir
        self.peerPort = peerPort
        self.downloadLimit = downloadLimit
        self.uploadLimit = uploadLimit
        self.seedRatioLimit = seedRatioLimit
        self.seedIdleMinutes = seedIdleMinutes
        self.downloadQueueSize = downloadQueueSize
        self.seedQueueSize = seedQueueSize
        self.dhtEnabled = dhtEnabled
        self.configDir = configDir
        self.rpcPort = rpcPort
    }
}

/// Byte counters for `session-stats` and the metrics.
public struct RPCStatistics: Sendable, Hashable {
    public var downloadRate: Int64 = 0
    public var uploadRate: Int64 = 0
    public var activeTorrents = 0
    public var pausedTorrents = 0
    public var torrentCount = 0
    /// This run's bytes (payload, since `btq run` started).
    public var sessionDownloaded: Int64 = 0
    public var sessionUploaded: Int64 = 0
    public var sessionSeconds: Int64 = 0
    /// All time (the store's lifetime counters over every torrent).
    public var totalDownloaded: Int64 = 0
    public var totalUploaded: Int64 = 0
    public var peersConnected = 0
    public var piecesVerified: Int64 = 0
    public var piecesFailed: Int64 = 0
    public var dhtNodes = 0
    /// The journal's commits of progress batches, and its durable checkpoints, over this run.
    public var journalCommits = LatencyHistogram()
    public var checkpoints = LatencyHistogram()
    /// Torrents per btq state.
    public var torrentsByState: [String: Int] = [:]
    public init() {}
}
