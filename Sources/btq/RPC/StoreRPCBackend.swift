import Engine
import Foundation
import Store

/// The RPC server's ``RPCBackend`` in `btq run`: every change goes through the same store calls as the
/// command line (`btq add`, `pause`, `resume`, `verify`, `remove`, `files`, `limit`, `move`, `config set`),
/// which the queue manager follows within a second; what is live (rates, peers) comes from the queue
/// manager's snapshot of the torrents it works.
struct StoreRPCBackend: RPCBackend {
    let store: BtqStore
    let manager: QueueManager
    /// Where a torrent added without `download-dir` goes: the folder `btq run` was started in.
    let downloadDirectory: String
    let peerPort: Int
    let rpcPort: Int
    let databasePath: String
    /// Lifetime bytes of every torrent when the daemon started, so this run's bytes can be told.
    let baseline: (downloaded: Int64, uploaded: Int64)
    /// The details of the torrents not being worked, between requests.
    let cache = RPCDetailsCache()
    /// The running DHT (`nil` when off), for its node count.
    let dht: DHTNodes?

    init(
        store: BtqStore, manager: QueueManager, dht: DHTNodes?, downloadDirectory: String, peerPort: Int, rpcPort: Int
    ) throws {
        self.store = store
        self.manager = manager
        self.dht = dht
        self.downloadDirectory = downloadDirectory
        self.peerPort = peerPort
        self.rpcPort = rpcPort
        self.databasePath = store.path ?? ""
        let all = try store.queries.torrents(includeRemoved: true)
        baseline = (all.reduce(0) { $0 + $1.downloaded }, all.reduce(0) { $0 + $1.uploaded })
    }

    private func run<T>(_ body: () throws -> T) throws(RPCError) -> T {
        try RPCError.catching(body)
    }

    // MARK: torrents

    func torrents() async throws(RPCError) -> [RPCTorrent] {
        let progress = await manager.progress()
        return try run {
            let records = try store.queries.torrents()
            let limits = try store.limits.allRateLimits()
            var revisions: [Int64: RPCDetailsCache.Revision?] = [:]
            revisions.reserveCapacity(records.count)
            for record in records {
                revisions[record.id] =
                    progress[record.id] == nil
                    ? RPCDetailsCache.Revision(
                        piecesDone: record.piecesDone, prioritiesChanged: record.prioritiesChanged,
                        fileCount: record.fileCount) : nil
            }
            cache.noteListing(revisions)
            let wanted = try wantedBytes(records)
            return records.map { record in
                var torrent = RPCTorrentMapping.torrent(
                    record, wanted: record.prioritiesChanged > 0 ? wanted[record.id] ?? (0, 0) : nil)
                if let limit = limits[record.id] {
                    torrent.downloadLimit = limit.download ?? 0
                    torrent.uploadLimit = limit.upload ?? 0
                }
                if let live = progress[record.id] { RPCTorrentMapping.apply(live, to: &torrent) }
                return torrent
            }
        }
    }

    /// The bytes wanted and verified of each torrent with skipped files (one whose priorities were ever
    /// changed), read for all of them at once.
    private func wantedBytes(_ records: [TorrentRecord]) throws -> [Int64: (size: Int64, done: Int64)] {
        let changed = records.filter { $0.prioritiesChanged > 0 }.map(\.id)
        guard !changed.isEmpty else { return [:] }
        return try store.queries.files(torrentIds: changed).mapValues { all in
            let files = all.filter { !$0.isPad && $0.priority > 0 }
            return (files.reduce(0) { $0 + $1.length }, files.reduce(0) { $0 + ($1.bytesDone ?? 0) })
        }
    }

    func details(of ids: [Int64], needs: RPCDetailNeeds) async throws(RPCError) -> [Int64: RPCTorrentDetails] {
        // The peers of the torrents being transferred, with their rates, from their sessions.
        let liveIds = needs.contains(.peers) ? cache.live(ids) : []
        var live: [Int64: [LivePeer]] = [:]
        for id in liveIds { live[id] = await manager.livePeers(of: id) }
        return try run {
            var result: [Int64: RPCTorrentDetails] = [:]
            if !needs.isDisjoint(with: [.files, .trackers]) {
                // Files and trackers both, of every torrent not cached, in a few queries for all: a
                // stopped torrent's are then kept whole for the next request.
                let cached = cache.details(of: ids)
                result = cached.found
                if !cached.missing.isEmpty {
                    let files = try store.queries.files(torrentIds: cached.missing)
                    let trackers = try store.queries.trackers(torrentIds: cached.missing)
                    var read: [Int64: RPCTorrentDetails] = [:]
                    for id in cached.missing {
                        read[id] = RPCTorrentDetails(
                            files: (files[id] ?? []).filter { !$0.isPad }.map(Self.file),
                            trackers: (trackers[id] ?? []).map(Self.tracker))
                    }
                    cache.keep(read)
                    result.merge(read) { $1 }
                }
            }
            if needs.contains(.peers) {
                for id in liveIds {
                    result[id, default: RPCTorrentDetails()].peers =
                        try live[id].map { $0.map(Self.peer) } ?? peers(of: id)
                }
            }
            return result
        }
    }

    private static func file(_ file: FileRecord) -> RPCTorrentDetails.File {
        RPCTorrentDetails.File(
            name: file.path, length: file.length, bytesCompleted: file.bytesDone ?? 0, priority: file.priority)
    }

    private static func tracker(_ tracker: TrackerRecord) -> RPCTorrentDetails.Tracker {
        RPCTorrentDetails.Tracker(
            id: tracker.id, announce: tracker.url, tier: tracker.tier, seeders: tracker.seeders,
            leechers: tracker.leechers, downloads: tracker.completed,
            lastAnnounce: tracker.lastAnnounceAt.map { Int64($0.timeIntervalSince1970) } ?? 0,
            nextAnnounce: tracker.nextAnnounceAt.map { Int64($0.timeIntervalSince1970) } ?? 0,
            lastError: tracker.lastError,
            lastScrape: tracker.lastScrapeAt.map { Int64($0.timeIntervalSince1970) } ?? 0,
            scrapeError: tracker.scrapeError)
    }

    private static func peer(_ live: LivePeer) -> RPCTorrentDetails.Peer {
        var peer = RPCTorrentDetails.Peer(
            address: live.address, port: live.port, client: live.client, downloaded: 0, uploaded: 0)
        peer.rateToClient = Int64(live.downloadRate)
        peer.rateToPeer = Int64(live.uploadRate)
        peer.progress = live.progress
        peer.isEncrypted = live.isEncrypted
        peer.isIncoming = live.isIncoming
        peer.isUTP = live.isUTP
        peer.isDownloadingFrom = live.isDownloadingFrom
        peer.isUploadingTo = live.isUploadingTo
        // Transmission's letters: D downloading from it, U uploading to it, E encrypted, T over uTP,
        // I incoming, X from PEX, H from the DHT.
        peer.flags =
            (live.isDownloadingFrom ? "D" : "") + (live.isUploadingTo ? "U" : "") + (live.isEncrypted ? "E" : "")
            + (live.isUTP ? "T" : "") + (live.isIncoming ? "I" : "") + (live.source == .pex ? "X" : "")
            + (live.source == .dht ? "H" : "")
        return peer
    }

    /// The peers of a torrent being worked seen in the last minute (the store's history): for one
    /// fetching its metadata, which has no session.
    private func peers(of id: Int64) throws -> [RPCTorrentDetails.Peer] {
        let recent = Date().addingTimeInterval(-60)
        return try store.queries.peers(torrentId: id).filter { $0.lastSeenAt >= recent && !$0.isBanned }
            .prefix(200).map {
                RPCTorrentDetails.Peer(
                    address: $0.address, port: $0.port, client: $0.client ?? "", downloaded: $0.downloaded,
                    uploaded: $0.uploaded)
            }
    }

    // MARK: changes

    func add(_ request: RPCAddRequest) async throws(RPCError) -> RPCAdded {
        try RPCTorrentAdding.add(request, to: store, downloadDirectory: downloadDirectory)
    }

    func perform(_ action: RPCAction, on ids: [Int64]) async throws(RPCError) {
        if action == .reannounce {
            throw RPCError.unsupported(
                "torrent-reannounce: btq announces on each tracker's own schedule and cannot be asked to announce now")
        }
        try run {
            for record in try store.queue.torrents(ids: ids) where record.removedAt == nil {
                switch action {
                case .start, .startNow:
                    // As `btq resume` of one torrent: a paused or failed one is queued, a completed one seeds.
                    if [.paused, .error, .completed].contains(record.state) {
                        try store.queue.setState(torrentId: record.id, .queued, error: nil)
                    }
                    if action == .startNow { _ = try store.queue.move(torrentId: record.id, .top) }
                case .stop:
                    // As `btq pause`: a failed torrent keeps its reason.
                    if ![.paused, .completed].contains(record.state) {
                        try store.queue.setState(torrentId: record.id, .paused, error: record.lastError)
                    }
                case .verify:
                    // As `btq verify` beside a running daemon: the daemon checks it.
                    if !record.isMagnet { try store.queue.setState(torrentId: record.id, .checking) }
                case .reannounce:
                    break
                }
            }
        }
    }

    func remove(_ ids: [Int64], deleteData: Bool) async throws(RPCError) {
        var removed: [(TorrentRecord, [FileRecord])] = []
        try run {
            for record in try store.queue.torrents(ids: ids) where record.removedAt == nil {
                let files = deleteData ? try store.queries.files(torrentId: record.id) : []
                try store.queue.remove(torrentId: record.id, purge: false)
                removed.append((record, files))
            }
        }
        guard !removed.isEmpty else { return }
        // The daemon stops a removed torrent's session at its next pass. The answer waits for that (at
        // most 10 s), as Transmission's does: a client that adds the torrent again right after would
        // otherwise revive its row while the old session still runs. Files are deleted once it has
        // stopped, so no write of the session makes them again.
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let active = await manager.progress()
            if !removed.contains(where: { active[$0.0.id] != nil }) { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        guard deleteData else { return }
        var failures: [String] = []
        for (record, files) in removed { failures += DataDeleter.delete(files: files, of: record).failures }
        if !failures.isEmpty {
            throw RPCError.failed("removed, but could not delete: \(failures.joined(separator: "; "))")
        }
    }

    func change(_ ids: [Int64], _ changes: RPCTorrentChanges) async throws(RPCError) {
        if let location = changes.location {
            try await setLocation(ids, location, moveData: changes.moveData)
        }
        try run {
            for id in ids {
                if !changes.priorities.isEmpty {
                    try store.queries.setFilePriorities(
                        torrentId: id, try RPCTorrentAdding.btqIndexes(changes.priorities, of: id, in: store))
                }
                if changes.downloadLimit != nil || changes.uploadLimit != nil {
                    var limits = try store.limits.rateLimits(torrentId: id)
                    if let down = changes.downloadLimit { limits.download = down > 0 ? down : nil }
                    if let up = changes.uploadLimit { limits.upload = up > 0 ? up : nil }
                    try store.limits.setRateLimits(torrentId: id, limits)
                }
            }
        }
    }

    /// `torrent-set-location`: without `move`, the torrents' data is looked for in `location` (as
    /// Transmission's "find"); btq does not move data. Only torrents the daemon is not working (stopped
    /// or waiting) are changed, all or none.
    private func setLocation(_ ids: [Int64], _ location: String, moveData: Bool) async throws(RPCError) {
        if moveData {
            throw RPCError.unsupported(
                "torrent-set-location: btq does not move data; move the files yourself, then set the location "
                    + "with move false")
        }
        guard location.hasPrefix("/") else { throw RPCError.invalidArgument("location must be an absolute path") }
        let active = await manager.progress()
        if let busy = ids.first(where: { active[$0] != nil }) {
            throw RPCError.invalidArgument("torrent \(busy) is being worked; stop it before setting its location")
        }
        let folder = absolutePath(location)
        try run { for id in ids { try store.queue.setSaveDirectory(torrentId: id, folder) } }
    }

    func move(_ ids: [Int64], _ move: RPCQueueMove) async throws(RPCError) {
        let step: QueueMove
        switch move {
        case .top: step = .top
        case .up: step = .up
        case .down: step = .down
        case .bottom: step = .bottom
        }
        // Several torrents keep their order: to the top in reverse, to the bottom in order.
        let ordered = move == .top || move == .up ? ids.reversed() : ids
        try run { for id in ordered { _ = try store.queue.move(torrentId: id, step) } }
    }

    // MARK: session

    func session() async throws(RPCError) -> RPCSession {
        let settings = TransferSettings(store: store.ports)
        let maxActive = try run {
            try store.settings.value(QueueManager.maxActiveSetting).flatMap(TransferSettings.slots) ?? 3
        }
        var session = RPCSession(
            downloadDir: downloadDirectory, peerPort: peerPort, downloadLimit: settings.downloadRate,
            uploadLimit: settings.uploadRate, seedRatioLimit: settings.seedRatio, seedIdleMinutes: 0,
            downloadQueueSize: maxActive, seedQueueSize: settings.maxSeeds, dhtEnabled: dht != nil,
            configDir: (databasePath as NSString).deletingLastPathComponent, rpcPort: rpcPort)
        switch settings.encryption {
        case .require: session.encryption = "required"
        case .prefer: session.encryption = "preferred"
        case .disable: session.encryption = "tolerated"
        }
        return session
    }

    func changeSession(_ changes: RPCSessionChanges) async throws(RPCError) -> [String] {
        try run {
            // Checked as `btq config set` checks them, all before any is written.
            var normalized: [(String, String)] = []
            for (key, value) in changes.settings.sorted(by: { $0.key < $1.key }) {
                do {
                    normalized.append((key, try ConfigKey.named(key).normalize(value)))
                } catch {
                    throw RPCError.invalidArgument("\(error)")
                }
            }
            // A queue turned back on without a size gets its default when it was unlimited.
            for key in changes.limitedAgain where changes.settings[key] == nil {
                let current = try store.settings.value(key).flatMap(TransferSettings.slots)
                if current.map({ !RPCSessionWriter.queued($0) }) ?? false {
                    normalized.append((key, try ConfigKey.named(key).defaultValue))
                }
            }
            for (key, value) in normalized { try store.settings.set(key, to: value) }
        }
        return changes.unsupported
    }

    func statistics() async throws(RPCError) -> RPCStatistics {
        let progress = await manager.progress()
        var dhtNodes = 0
        for node in dht?.nodes ?? [] { dhtNodes += await node.nodeCount }
        return try run {
            var stats = RPCStatistics()
            stats.dhtNodes = dhtNodes
            (stats.journalCommits, stats.checkpoints) = JournalLatencies.shared.snapshot
            let all = try store.queries.torrents(includeRemoved: true)
            stats.totalDownloaded = all.reduce(0) { $0 + $1.downloaded }
            stats.totalUploaded = all.reduce(0) { $0 + $1.uploaded }
            stats.sessionDownloaded = max(0, stats.totalDownloaded - baseline.downloaded)
            stats.sessionUploaded = max(0, stats.totalUploaded - baseline.uploaded)
            for record in all where record.removedAt == nil {
                stats.torrentCount += 1
                stats.torrentsByState[record.state.rawValue, default: 0] += 1
                stats.piecesVerified += Int64(record.piecesDone)
                if record.state == .paused { stats.pausedTorrents += 1 }
            }
            for case .transferring(let status) in progress.values {
                stats.activeTorrents += 1
                stats.downloadRate += Int64(status.downloadRate)
                stats.uploadRate += Int64(status.uploadRate)
                stats.peersConnected += status.peers
            }
            stats.activeTorrents += progress.values.count(where: { if case .fetching = $0 { true } else { false } })
            stats.piecesFailed = try store.queries.hashFailures()
            return stats
        }
    }

    func freeSpace(at path: String) async throws(RPCError) -> (free: Int64, total: Int64) {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else {
            throw RPCError.failed("free-space: \(path): \(String(cString: strerror(errno)))")
        }
        return (Int64(info.f_bavail) * Int64(info.f_frsize), Int64(info.f_blocks) * Int64(info.f_frsize))
    }
}
