import Engine
import Foundation
import GRDB

/// The database as the engine sees it: one value implementing the ports that the queue manager and its
/// workers take together (``QueueStore``, ``TorrentContentStore`` and so ``ResumeStore``), each call going
/// to the part of the store that owns it: ``TorrentQueue``, ``ProgressStore``, ``TorrentQueries``,
/// ``TorrentLimits``, ``RunLog`` or ``StoreSettings``.
package struct EnginePorts: QueueStore, TorrentContentStore {
    let writer: any DatabaseWriter
    /// Set in the copy a worker gets (``pinned(to:)``).
    private var pin: TorrentPin?

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    private var queue: TorrentQueue { TorrentQueue(writer: writer) }
    private var progress: ProgressStore { ProgressStore(writer: writer, pin: pin) }
    private var queries: TorrentQueries { TorrentQueries(writer: writer) }
    private var limits: TorrentLimits { TorrentLimits(writer: writer) }
    private var runs: RunLog { RunLog(writer: writer) }

    // MARK: - QueueStore

    package func torrent(id: Int64) throws -> TorrentRecord? {
        try queries.torrent(id: id)
    }

    package func torrents(ids: Set<Int64>) throws -> [TorrentRecord] {
        try queue.torrents(ids: Array(ids))
    }

    package func torrents(in state: TorrentState, limit: Int) throws -> [TorrentRecord] {
        try queue.torrents(in: state, limit: limit)
    }

    package func torrentsChanged(
        among ids: Set<Int64>, since: Int64
    ) throws -> (
        changed: [TorrentRecord], deleted: Set<Int64>
    ) {
        try queue.torrentsChanged(among: ids, since: since)
    }

    package func downloadCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord] {
        try queue.downloadCandidates(limit: limit, excluding: excluding)
    }

    package func checkAheadCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord] {
        try queue.checkAheadCandidates(limit: limit, excluding: excluding)
    }

    package func seedCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord] {
        try queue.seedCandidates(limit: limit, excluding: excluding)
    }

    package func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws {
        try progress.setState(torrentId: torrentId, state, error: error)
    }

    package func setStates(_ changes: [(torrentId: Int64, state: TorrentState)]) throws {
        try queue.setStates(changes)
    }

    package func recordEvents(_ events: [HistoryEvent]) throws {
        try progress.recordEvents(events)
    }

    package func stateBeforeChecking(torrentId: Int64) throws -> TorrentState? {
        try queue.stateBeforeChecking(torrentId: torrentId)
    }

    package func markComplete(torrentId: Int64) throws {
        try queue.markComplete(torrentId: torrentId)
    }

    package func markIncomplete(torrentId: Int64) throws {
        try queue.markIncomplete(torrentId: torrentId)
    }

    package func markCheckedAhead(torrentId: Int64, detail: String) throws {
        try queue.markCheckedAhead(torrentId: torrentId, detail: detail)
    }

    package func seedingSeconds(torrentId: Int64) throws -> Int64 {
        try limits.seedingSeconds(torrentId: torrentId)
    }

    package func addSeedingSeconds(torrentId: Int64, _ seconds: Int64) throws {
        try limits.addSeedingSeconds(torrentId: torrentId, seconds)
    }

    package func addSeedingSeconds(_ seconds: [Int64: Int64]) throws {
        try limits.addSeedingSeconds(seconds)
    }

    package func queueGeneration() throws -> Int64 {
        try limits.queueGeneration()
    }

    package func rateLimits(torrentId: Int64) throws -> TorrentRateLimits {
        try limits.rateLimits(torrentId: torrentId)
    }

    package func workedFigures(torrentIds: [Int64]) throws -> [Int64: WorkedTorrentFigures] {
        try limits.workedFigures(torrentIds: torrentIds)
    }

    package func settings() throws -> [String: String] {
        try StoreSettings(writer: writer).all()
    }

    package func beginRun(pid: Int32, bootId: String?, at now: Date) throws -> Int64 {
        try runs.beginRun(pid: pid, bootId: bootId, at: now)
    }

    package func heartbeat(runId: Int64, at now: Date) throws {
        try runs.heartbeat(runId: runId, at: now)
    }

    package func endRun(runId: Int64, clean: Bool, at now: Date) throws {
        try runs.endRun(runId: runId, clean: clean, at: now)
    }

    package func unfinishedRuns(limit: Int) throws -> [RunRecord] {
        try runs.unfinishedRuns(limit: limit)
    }

    // MARK: - ResumeStore

    package func resumeState(torrentId: Int64) throws -> ResumeState? {
        try progress.resumeState(torrentId: torrentId)
    }

    package func saveProgress(_ batch: ProgressBatch) throws {
        try progress.saveProgress(batch)
    }

    /// Ports over the same database share their transactions.
    package var commitGroup: ObjectIdentifier? { ObjectIdentifier(writer) }

    /// Each batch keeps its own store's pin. Batches of other stores (never in this group) are each
    /// written alone.
    package func saveProgress(
        together saves: [(store: any ResumeStore, batch: ProgressBatch)]
    ) throws -> [(any Error)?] {
        let ports = saves.map { $0.store as? EnginePorts }
        guard ports.allSatisfy({ $0?.writer === writer }) else { return Self.saveEachAlone(saves) }
        return try progress.saveProgress(together: zip(ports, saves).map { ($0?.pin, $1.batch) })
    }

    package func commitCheckpoint(_ checkpoints: [DurableCheckpoint], at time: Timestamp) throws {
        try progress.commitCheckpoint(checkpoints, at: time)
    }

    package func recordFileStats(torrentId: Int64, _ stats: [FileStat]) throws {
        try progress.recordFileStats(torrentId: torrentId, stats)
    }

    package func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo) throws {
        try progress.attachMetainfo(torrentId: torrentId, metainfo)
    }

    // MARK: - TorrentContentStore

    /// The same ports for the worker of `record`'s torrent: what it records (progress, checkpoints, file
    /// stats, peers, trackers, events, its state, fetched metadata) is dropped once the torrent was
    /// removed and added again, when the row is no longer the one the worker started on (``TorrentPin``).
    /// Writes the queue manager makes itself (seeding time, a recheck's verdict) go through unpinned ports.
    package func pinned(to record: TorrentRecord) -> EnginePorts {
        var pinned = self
        pinned.pin = TorrentPin(record)
        return pinned
    }

    package func metainfoBytes(torrentId: Int64) throws -> [UInt8]? {
        try queries.metainfoBytes(torrentId: torrentId)
    }

    package func magnetURI(torrentId: Int64) throws -> String? {
        try queries.magnetURI(torrentId: torrentId)
    }

    package func filePriorities(torrentId: Int64, count: Int) throws -> [Int] {
        try queries.filePriorities(torrentId: torrentId, count: count)
    }

    package func trackerURLs(torrentId: Int64) throws -> [String] {
        try queries.trackers(torrentId: torrentId).map(\.url)
    }

    package func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo, detail: String?) throws {
        try progress.attachMetainfo(torrentId: torrentId, metainfo, detail: detail)
    }
}
