import Foundation

/// The queue manager's port to where the queue is kept: which torrents to work, their states and
/// history, the settings, and the records of the processes that worked them.
///
/// `Store` implements it over SQLite (the CLI writes the same tables: the database is the queue); the
/// queue manager's tests implement it in memory. Every method is atomic and may block briefly on disk I/O.
package protocol QueueStore: Sendable {
    /// One torrent, removed ones included; `nil` when there is no such row.
    func torrent(id: Int64) throws -> TorrentRecord?
    /// The torrents with these ids that exist, removed ones included.
    func torrents(ids: Set<Int64>) throws -> [TorrentRecord]
    /// Of the torrents `ids`, those whose followed columns (what ``queueGeneration()`` follows) changed
    /// after the queue was at generation `since`, removed ones included, and those deleted since. It may
    /// give more of them than changed (every one, when it cannot tell), never fewer.
    func torrentsChanged(among ids: Set<Int64>, since: Int64) throws -> (changed: [TorrentRecord], deleted: Set<Int64>)
    /// Torrents not removed in `state`, in queue order, at most `limit`.
    func torrents(in state: TorrentState, limit: Int) throws -> [TorrentRecord]
    /// Torrents that may download (queued, downloading, fetching metadata; never completed), in queue
    /// order, at most `limit` of those not in `excluding` (the torrents worked already).
    func downloadCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord]
    /// Finished torrents that may seed (seeding, or queued with their data complete), in queue order,
    /// at most `limit` of those not in `excluding`.
    func seedCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord]
    /// What may be checked ahead of a download slot, in queue order, at most `limit` of those not in
    /// `excluding`: queued torrents with metainfo that never ran and are not known complete.
    func checkAheadCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord]

    /// Changes a torrent's state, recording the transition in its history; `error` becomes its last
    /// error (`nil` clears it).
    func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws
    /// Changes several torrents' states (clearing their last errors), each as
    /// ``setState(torrentId:_:error:)`` does, in one write; torrents removed meanwhile are left alone.
    func setStates(_ changes: [(torrentId: Int64, state: TorrentState)]) throws
    /// Appends entries to the history.
    func recordEvents(_ events: [HistoryEvent]) throws
    /// The state a torrent had before `btq verify` put it in `checking` (from its history).
    func stateBeforeChecking(torrentId: Int64) throws -> TorrentState?
    /// Records that a full check found every wanted piece.
    func markComplete(torrentId: Int64) throws
    /// Records that a torrent's data is not complete (a check, or a seed found damaged).
    func markIncomplete(torrentId: Int64) throws
    /// Records that a torrent that never ran had its data checked ahead of its download slot (a `checked`
    /// event with `detail`), and that it ran (its ``TorrentRecord/startedAt``): it is not checked ahead
    /// again, and its next start trusts what the check saved.
    func markCheckedAhead(torrentId: Int64, detail: String) throws

    /// Seconds a torrent has seeded over its life.
    func seedingSeconds(torrentId: Int64) throws -> Int64
    /// Adds seeding time.
    func addSeedingSeconds(torrentId: Int64, _ seconds: Int64) throws
    /// Adds seeding time to several torrents at once (by id).
    func addSeedingSeconds(_ seconds: [Int64: Int64]) throws
    /// A value that changes whenever something a running daemon follows changes, whoever writes it: a
    /// torrent added, removed or added again, its state, folder, metadata, completion, own rate limits,
    /// download order or file priorities, and any setting. Compared for equality only; what the journal
    /// writes (progress, counters, seeding time) and queue moves leave it alone.
    func queueGeneration() throws -> Int64
    /// A torrent's own rate limits.
    func rateLimits(torrentId: Int64) throws -> TorrentRateLimits
    /// The own rate limits and lifetime seeding seconds of each of `torrentIds` that exists, read at once:
    /// the queue manager reads them for every torrent it works at every pass.
    func workedFigures(torrentIds: [Int64]) throws -> [Int64: WorkedTorrentFigures]
    /// Every setting that is set, by name.
    func settings() throws -> [String: String]

    /// Records the start of a process that works torrents and returns its run id.
    func beginRun(pid: Int32, bootId: String?, at now: Date) throws -> Int64
    /// Refreshes a run's sign of life.
    func heartbeat(runId: Int64, at now: Date) throws
    /// Records the end of a run; `clean` when everything it worked was flushed and checkpointed.
    func endRun(runId: Int64, clean: Bool, at now: Date) throws
    /// Runs that never recorded their stop, newest first, at most `limit`.
    func unfinishedRuns(limit: Int) throws -> [RunRecord]
}

/// What the queue manager reads at every pass of each torrent it works, beside its row.
package struct WorkedTorrentFigures: Sendable, Hashable {
    /// Its own rate limits.
    package var limits: TorrentRateLimits
    /// Seconds it has seeded over its life (saved).
    package var seedingSeconds: Int64

    package init(limits: TorrentRateLimits, seedingSeconds: Int64) {
        self.limits = limits
        self.seedingSeconds = seedingSeconds
    }
}

extension QueueStore {
    /// One write per torrent; a store that can should write them together.
    package func addSeedingSeconds(_ seconds: [Int64: Int64]) throws {
        for (id, value) in seconds { try addSeedingSeconds(torrentId: id, value) }
    }

    /// One read per torrent; a store that can should read them together.
    package func workedFigures(torrentIds: [Int64]) throws -> [Int64: WorkedTorrentFigures] {
        var figures: [Int64: WorkedTorrentFigures] = [:]
        for id in torrentIds {
            figures[id] = WorkedTorrentFigures(
                limits: try rateLimits(torrentId: id), seedingSeconds: try seedingSeconds(torrentId: id))
        }
        return figures
    }

    /// Changes a torrent's state and clears its last error.
    package func setState(torrentId: Int64, _ state: TorrentState) throws {
        try setState(torrentId: torrentId, state, error: nil)
    }

    /// Appends one history entry about `torrentId`.
    package func recordEvent(torrentId: Int64, _ kind: EventKind, detail: String?) throws {
        try recordEvents([HistoryEvent(torrentId: torrentId, kind: kind, detail: detail)])
    }

    /// One setting as an integer, when it is set and reads as one.
    func intSetting(_ name: String) -> Int? {
        (try? settings())?[name].flatMap { Int($0) }
    }
}

/// What the workers that `StoreWorkers` makes read and write beyond progress: a torrent's metainfo or
/// magnet link, its file priorities and trackers, and the metadata a magnet fetch found.
package protocol TorrentContentStore: ResumeStore {
    /// The stored `.torrent` bytes; `nil` for a magnet whose metadata has not arrived.
    func metainfoBytes(torrentId: Int64) throws -> [UInt8]?
    /// The magnet link a torrent was added from, if it was.
    func magnetURI(torrentId: Int64) throws -> String?
    /// Each file's priority (0 skip, 1...7), pad files included, `count` of them.
    func filePriorities(torrentId: Int64, count: Int) throws -> [Int]
    /// The announce URLs of its trackers, in tier order.
    func trackerURLs(torrentId: Int64) throws -> [String]
    /// Stores fetched metadata, with `detail` (from whom, how long) in its `metadata` event.
    func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo, detail: String?) throws
    /// The same store for the worker of `record`'s torrent, whose writes are dropped once the torrent was
    /// removed and added again (its row then belongs to the new torrent; the old worker is stopping).
    func pinned(to record: TorrentRecord) -> Self
}

extension TorrentContentStore {
    /// The metainfo of `record`'s torrent and its files' piece priorities, for a worker that `verb`s it
    /// ("downloads", "checks"); a ``QueueError`` for a magnet without metadata yet (`withoutMetadata`
    /// says why) and for a v2 torrent without the piece layers it needs.
    func workableContent(
        of record: TorrentRecord, verb: String, withoutMetadata: String
    ) throws -> (
        Metainfo, [PiecePriority]
    ) {
        guard let bytes = try metainfoBytes(torrentId: record.id) else {
            throw QueueError("#\(record.id) \(record.name) \(withoutMetadata)")
        }
        let metainfo = try Metainfo(bytes: bytes)
        if metainfo.version == .v2 {
            do {
                _ = try V2PieceRoots(metainfo: metainfo)
            } catch {
                throw QueueError("#\(record.id) \(record.name): \(error); this btq cannot check its pieces")
            }
        }
        let priorities = try filePriorities(torrentId: record.id, count: metainfo.files.count).map {
            PiecePriority(UInt8(clamping: $0))
        }
        return (metainfo, priorities)
    }
}
