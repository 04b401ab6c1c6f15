import Foundation
import Synchronization

@testable import Engine

/// The queue kept in memory, with the semantics `Store` gives it over SQLite: candidates in queue
/// order, a removed torrent never a candidate, state changes recorded in the history.
final class MemoryQueue: QueueStore {
    struct Contents {
        var torrents: [Int64: TorrentRecord] = [:]
        var events: [HistoryEvent] = []
        var settings: [String: String] = [:]
        var seeded: [Int64: Int64] = [:]
        var limits: [Int64: TorrentRateLimits] = [:]
        var beforeChecking: [Int64: TorrentState] = [:]
        var runs: [RunRecord] = []
        /// Passes begun (each reads the queue's generation first) and reads of worked torrents' rows.
        var generationReads = 0
        var workedRowReads = 0
        /// The number of torrents each call of ``setStates(_:)`` changed, in order.
        var stateBatches: [Int] = []
    }

    let contents = Mutex(Contents())

    /// Adds a torrent at the end of the queue and returns its id.
    @discardableResult
    func add(
        _ name: String, state: TorrentState = .queued, complete: Bool = false, magnet: Bool = false,
        downloaded: Int64 = 0, uploaded: Int64 = 0
    ) -> Int64 {
        contents.withLock { contents in
            let id = Int64(contents.torrents.count + 1)
            contents.torrents[id] = TorrentRecord(
                id: id, infoHashV1: String(repeating: "\(id % 10)", count: 40), infoHashV2: nil, name: name,
                totalSize: magnet ? nil : 1 << 20, pieceLength: magnet ? nil : 1 << 14,
                pieceCount: magnet ? nil : 64, piecesDone: complete ? 64 : 0, bytesDone: complete ? 1 << 20 : 0,
                state: state, queuePosition: contents.torrents.values.filter { !$0.isRemoved }.count,
                saveDirectory: "/nonexistent", isMagnet: magnet, version: magnet ? nil : "v1", isPrivate: false,
                comment: nil, createdBy: nil, creationDate: nil, addedAt: Date(), startedAt: nil,
                completedAt: complete ? Date() : nil, removedAt: nil, downloaded: downloaded, uploaded: uploaded,
                wasted: 0, lastError: nil, fileCount: magnet ? 0 : 1)
            return id
        }
    }

    func record(_ id: Int64) -> TorrentRecord? { contents.withLock { $0.torrents[id] } }
    func state(_ id: Int64) -> TorrentState? { record(id)?.state }
    func events(_ id: Int64, _ kind: EventKind) -> [HistoryEvent] {
        contents.withLock { $0.events.filter { $0.torrentId == id && $0.kind == kind } }
    }
    func set(_ name: String, _ value: String) { contents.withLock { $0.settings[name] = value } }

    /// The user pauses it (as `btq pause` writes it).
    func pause(_ id: Int64) { try? setState(torrentId: id, .paused, error: nil) }

    /// The user removes it and adds it again before the daemon's next pass (as `btq remove` then `btq add`
    /// write it): the same row, queued, with a later time added.
    func addAgain(_ id: Int64) {
        contents.withLock { contents in
            guard let record = contents.torrents[id] else { return }
            contents.torrents[id]?.addedAt = record.addedAt.addingTimeInterval(1)
            contents.torrents[id]?.state = .queued
            contents.torrents[id]?.lastError = nil
        }
    }

    /// The metadata of a magnet arrived.
    func attachMetadata(_ id: Int64) {
        contents.withLock { contents in
            contents.torrents[id]?.isMagnet = false
            contents.torrents[id]?.totalSize = 1 << 20
            contents.torrents[id]?.fileCount = 1
        }
    }

    // MARK: QueueStore

    func torrent(id: Int64) throws -> TorrentRecord? { record(id) }

    func torrents(ids: Set<Int64>) throws -> [TorrentRecord] {
        contents.withLock { contents in
            contents.workedRowReads += 1
            return ids.compactMap { contents.torrents[$0] }
        }
    }

    func torrents(in state: TorrentState, limit: Int) throws -> [TorrentRecord] {
        queue(limit: limit) { $0.state == state }
    }

    /// Every one of them: the in-memory queue keeps no stamps (the port allows more than changed).
    func torrentsChanged(among ids: Set<Int64>, since: Int64) throws -> (changed: [TorrentRecord], deleted: Set<Int64>)
    {
        let rows = try torrents(ids: ids)
        return (rows, ids.subtracting(rows.map(\.id)))
    }

    func downloadCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord] {
        queue(limit: limit, excluding: excluding) {
            [.queued, .downloading, .fetchingMetadata].contains($0.state) && $0.completedAt == nil
        }
    }

    func checkAheadCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord] {
        queue(limit: limit, excluding: excluding) {
            $0.state == .queued && $0.completedAt == nil && $0.startedAt == nil && !$0.isMagnet
        }
    }

    func seedCandidates(limit: Int, excluding: Set<Int64>) throws -> [TorrentRecord] {
        queue(limit: limit, excluding: excluding) {
            $0.state == .seeding || ([.queued, .downloading].contains($0.state) && $0.completedAt != nil)
        }
    }

    private func queue(
        limit: Int, excluding: Set<Int64> = [], where wanted: (TorrentRecord) -> Bool
    ) -> [TorrentRecord] {
        contents.withLock { contents in
            Array(
                contents.torrents.values.filter { !$0.isRemoved && !excluding.contains($0.id) && wanted($0) }
                    .sorted { $0.queuePosition < $1.queuePosition }.prefix(limit))
        }
    }

    func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws {
        contents.withLock { contents in
            guard let before = contents.torrents[torrentId]?.state else { return }
            if state == .checking { contents.beforeChecking[torrentId] = before }
            contents.torrents[torrentId]?.state = state
            contents.torrents[torrentId]?.lastError = error
            // As the database does: the first active state is when it started.
            if [.checking, .fetchingMetadata, .downloading, .seeding].contains(state),
                contents.torrents[torrentId]?.startedAt == nil
            {
                contents.torrents[torrentId]?.startedAt = Date()
            }
            contents.events.append(
                HistoryEvent(torrentId: torrentId, kind: .state, detail: "\(before.rawValue) -> \(state.rawValue)"))
        }
    }

    func setStates(_ changes: [(torrentId: Int64, state: TorrentState)]) throws {
        contents.withLock { $0.stateBatches.append(changes.count) }
        for change in changes { try setState(torrentId: change.torrentId, change.state, error: nil) }
    }

    func recordEvents(_ events: [HistoryEvent]) throws {
        contents.withLock { $0.events += events }
    }

    func stateBeforeChecking(torrentId: Int64) throws -> TorrentState? {
        contents.withLock { $0.beforeChecking[torrentId] }
    }

    func markComplete(torrentId: Int64) throws {
        contents.withLock { $0.torrents[torrentId]?.completedAt = Date() }
    }

    func markIncomplete(torrentId: Int64) throws {
        contents.withLock { $0.torrents[torrentId]?.completedAt = nil }
    }

    func markCheckedAhead(torrentId: Int64, detail: String) throws {
        contents.withLock { contents in
            guard contents.torrents[torrentId] != nil else { return }
            if contents.torrents[torrentId]?.startedAt == nil { contents.torrents[torrentId]?.startedAt = Date() }
            contents.events.append(HistoryEvent(torrentId: torrentId, kind: .checked, detail: detail))
        }
    }

    func seedingSeconds(torrentId: Int64) throws -> Int64 {
        contents.withLock { $0.seeded[torrentId] ?? 0 }
    }

    func addSeedingSeconds(torrentId: Int64, _ seconds: Int64) throws {
        contents.withLock { $0.seeded[torrentId, default: 0] += seconds }
    }

    /// What the store's triggers follow, hashed: it changes whenever one of them does, as the counter does.
    func queueGeneration() throws -> Int64 {
        contents.withLock { contents in
            contents.generationReads += 1
            var hasher = Hasher()
            for (id, record) in contents.torrents.sorted(by: { $0.key < $1.key }) {
                hasher.combine(id)
                hasher.combine(record.state)
                hasher.combine(record.addedAt)
                hasher.combine(record.removedAt)
                hasher.combine(record.saveDirectory)
                hasher.combine(record.isMagnet)
                hasher.combine(record.completedAt)
                hasher.combine(record.downloadOrder)
                hasher.combine(record.prioritiesChanged)
            }
            for (id, limits) in contents.limits.sorted(by: { $0.key < $1.key }) {
                hasher.combine(id)
                hasher.combine(limits.download)
                hasher.combine(limits.upload)
            }
            for (key, value) in contents.settings.sorted(by: { $0.key < $1.key }) {
                hasher.combine(key)
                hasher.combine(value)
            }
            return Int64(hasher.finalize())
        }
    }

    func rateLimits(torrentId: Int64) throws -> TorrentRateLimits {
        contents.withLock { $0.limits[torrentId] ?? TorrentRateLimits() }
    }

    func settings() throws -> [String: String] { contents.withLock { $0.settings } }

    func beginRun(pid: Int32, bootId: String?, at now: Date) throws -> Int64 {
        contents.withLock { contents in
            let id = Int64(contents.runs.count + 1)
            contents.runs.append(
                RunRecord(
                    id: id, pid: pid, bootId: bootId, startedAt: now, heartbeatAt: now, stoppedAt: nil, clean: false))
            return id
        }
    }

    func heartbeat(runId: Int64, at now: Date) throws {
        contents.withLock { contents in
            if let index = contents.runs.firstIndex(where: { $0.id == runId }) {
                contents.runs[index].heartbeatAt = now
            }
        }
    }

    func endRun(runId: Int64, clean: Bool, at now: Date) throws {
        contents.withLock { contents in
            guard let index = contents.runs.firstIndex(where: { $0.id == runId }) else { return }
            contents.runs[index].stoppedAt = now
            contents.runs[index].clean = clean
        }
    }

    func unfinishedRuns(limit: Int) throws -> [RunRecord] {
        contents.withLock { Array($0.runs.filter { $0.stoppedAt == nil }.reversed().prefix(limit)) }
    }
}
