import Foundation

@testable import Engine

/// A ``ResumeStore`` for one torrent, in memory, with the semantics of the SQLite store: a verified
/// piece loses its block mask, an empty mask deletes it, a checkpoint copies its snapshot.
final class MemoryResumeStore: ResumeStore, @unchecked Sendable {
    // Invariant for @unchecked Sendable: every mutable property is accessed only with `lock` held.
    private let lock = NSLock()
    private var state: ResumeState
    private var recordedEvents: [HistoryEvent] = []
    private var transactionCount = 0

    init(torrentId: Int64 = 1, pieceCount: Int) {
        state = ResumeState(torrentId: torrentId, verified: Bitfield(count: pieceCount))
    }

    var snapshot: ResumeState { lock.withLock { state } }
    var events: [HistoryEvent] { lock.withLock { recordedEvents } }
    var transactions: Int { lock.withLock { transactionCount } }

    /// Replaces the recorded progress (to set up what an earlier run left).
    func overwrite(_ change: (inout ResumeState) -> Void) {
        lock.withLock { change(&state) }
    }

    func resumeState(torrentId: Int64) throws -> ResumeState? {
        lock.withLock { torrentId == state.torrentId ? state : nil }
    }

    func saveProgress(_ batch: ProgressBatch) throws {
        lock.withLock {
            transactionCount += 1
            for progress in batch.torrents where progress.torrentId == state.torrentId {
                if !progress.pieces.isEmpty || !progress.blockMasks.isEmpty { state.recordedAt = .now }
                for (piece, verified) in progress.pieces {
                    state.verified.set(piece.value, to: verified)
                    if verified {
                        state.blockMasks[piece] = nil
                        state.durableBlockMasks[piece] = nil
                    }
                }
                for (piece, mask) in progress.blockMasks where progress.pieces[piece] != true {
                    state.blockMasks[piece] = mask.isNone ? nil : mask
                    if mask.isNone { state.durableBlockMasks[piece] = nil }
                }
                for stat in progress.fileStats {
                    state.files.removeAll { $0.index == stat.index }
                    state.files.append(stat)
                }
                state.totals.downloaded += progress.transferred.downloaded
                state.totals.uploaded += progress.transferred.uploaded
                state.totals.wasted += progress.transferred.wasted
            }
            recordedEvents += batch.events
        }
    }

    func commitCheckpoint(_ checkpoints: [DurableCheckpoint], at time: Timestamp) throws {
        lock.withLock {
            for checkpoint in checkpoints where checkpoint.torrentId == state.torrentId {
                state.durableVerified = checkpoint.verified
                state.durableBlockMasks = checkpoint.blockMasks.filter { state.blockMasks[$0.key] != nil }
                state.checkpointAt = time
            }
        }
    }

    func recordFileStats(torrentId: Int64, _ stats: [FileStat]) throws {
        try saveProgress(ProgressBatch(torrents: [TorrentProgress(torrentId: torrentId, fileStats: stats)]))
    }

    func setState(torrentId: Int64, _ state: TorrentState, error: String?) throws {}

    func recordEvents(_ events: [HistoryEvent]) throws {
        try saveProgress(ProgressBatch(events: events))
    }

    func attachMetainfo(torrentId: Int64, _ metainfo: Metainfo) throws {}
}
