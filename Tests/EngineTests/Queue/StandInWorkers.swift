import Foundation
import Synchronization

@testable import Engine

/// Work whose progress the test decides: each download reports the status the test gives it and ends
/// when stopped, failed or (stopped after) complete; each metadata fetch ends when the test delivers
/// the metadata or the manager stops it. Records how many downloads ran at once, at every start.
final class StandInWorkers: QueueWorkers {
    struct Log {
        var downloads: [Int64: StandInDownload] = [:]
        var fetches: [Int64: StandInFetch] = [:]
        var checks: [Int64: StandInCheck] = [:]
        var started: [Int64] = []
        /// Downloads started by each pass (passes counted by their reads of the queue's generation).
        var startedByPass: [Int: Int] = [:]
        var running = 0
        var mostRunning = 0
    }

    let queue: MemoryQueue
    let log = Mutex(Log())

    init(queue: MemoryQueue) { self.queue = queue }

    func download(
        _ record: TorrentRecord, configuration: SessionConfiguration, limits: TransferLimits,
        resumePolicy: ResumePolicy, stopWhenComplete: Bool
    ) throws -> any DownloadWork {
        let work = StandInDownload(
            record: record, stopWhenComplete: stopWhenComplete, held: configuration.holdsAfterStartCheck, workers: self)
        log.withLock { log in
            log.downloads[record.id] = work
            log.started.append(record.id)
            log.startedByPass[queue.contents.withLock { $0.generationReads }, default: 0] += 1
        }
        return work
    }

    func fetchMetadata(
        _ record: TorrentRecord, configuration: SessionConfiguration, peers: [PeerAddress]
    )
        -> any MetadataWork
    {
        let fetch = StandInFetch(id: record.id, queue: queue)
        log.withLock { $0.fetches[record.id] = fetch }
        return fetch
    }

    func check(_ record: TorrentRecord) throws -> any CheckWork {
        let check = StandInCheck()
        log.withLock { $0.checks[record.id] = check }
        return check
    }

    func check(_ id: Int64) -> StandInCheck? { log.withLock { $0.checks[id] } }

    func download(_ id: Int64) -> StandInDownload? { log.withLock { $0.downloads[id] } }
    func fetch(_ id: Int64) -> StandInFetch? { log.withLock { $0.fetches[id] } }
    var started: [Int64] { log.withLock { $0.started } }
    var startedByPass: [Int: Int] { log.withLock { $0.startedByPass } }
    var running: Int { log.withLock { $0.running } }
    var mostRunning: Int { log.withLock { $0.mostRunning } }

    /// A download started or ended: counts those running (seeds included).
    func count(_ change: Int) {
        log.withLock { log in
            log.running += change
            log.mostRunning = max(log.mostRunning, log.running)
        }
    }
}

/// A download that reports what the test says and ends as a session would.
actor StandInDownload: DownloadWork {
    let id: Int64
    let stopWhenComplete: Bool
    /// Started ahead of its slot: it waits after its start check for ``goOn()`` or a stop.
    let held: Bool
    /// The queue let it go on past its start check.
    private(set) var wentOn = false
    private let workers: StandInWorkers
    private var current: TorrentStatus
    private var ending: CheckedContinuation<TorrentSession.Outcome, Never>?
    private var outcome: TorrentSession.Outcome?
    /// Callers of ``started()`` waiting for the test to say the start check is done.
    private var checking: [CheckedContinuation<Void, Never>] = []
    /// The start check is done (the test said so, or the download ended).
    private(set) var checked = false
    private(set) var stops = 0
    private(set) var ended = false
    /// The download orders it was told, in order.
    private(set) var orders: [DownloadOrder] = []
    /// How many times it was told to read its file priorities again.
    private(set) var priorityReloads = 0

    /// A download of `record`, reporting its lifetime totals as a session restores them.
    init(record: TorrentRecord, stopWhenComplete: Bool, held: Bool = false, workers: StandInWorkers) {
        let complete = record.completedAt != nil
        self.id = record.id
        self.stopWhenComplete = stopWhenComplete
        self.held = held
        self.workers = workers
        current = TorrentStatus(
            piecesDone: complete ? 64 : 0, piecesWanted: 64, bytesDone: complete ? 1 << 20 : 0, bytesWanted: 1 << 20,
            downloaded: record.downloaded, uploaded: record.uploaded, wasted: 0, downloadRate: 0, peers: 0,
            knownPeers: 0, isComplete: complete,
            failure: nil)
    }

    func addPeers(_ peers: [(address: PeerAddress, source: PeerUpdate.Source)]) async {}

    func run() async -> TorrentSession.Outcome {
        workers.count(1)
        if stopWhenComplete, current.isComplete { end(.completed) }
        let result: TorrentSession.Outcome
        if let outcome {
            result = outcome
        } else {
            result = await withCheckedContinuation { ending = $0 }
        }
        ended = true
        workers.count(-1)
        return result
    }

    /// What the test said; one started ahead of its slot is starting until its check is done (the others
    /// report no start check, as before the queue looked at it).
    func status() async -> TorrentStatus {
        var status = current
        status.isStarting = held && !checked
        return status
    }

    func started() async {
        guard !checked else { return }
        await withCheckedContinuation { checking.append($0) }
    }

    /// Its start check ended (with what ``status()`` says now).
    func finishCheck() {
        checked = true
        for waiter in checking { waiter.resume() }
        checking = []
    }

    func stop() async {
        stops += 1
        end(current.isComplete ? .completed : .stopped)
    }

    func saveProgressNow() async {}

    func goOn() async { wentOn = true }

    func setDownloadOrder(_ order: DownloadOrder) async { orders.append(order) }

    func reloadFilePriorities() async throws { priorityReloads += 1 }

    /// Every piece arrived: it goes on (seeding) until stopped, as the daemon's sessions do, or ends when
    /// told to stop when complete.
    func complete(downloaded: Int64 = 1 << 20) {
        current.isComplete = true
        current.bytesDone = current.bytesWanted
        current.piecesDone = current.piecesWanted
        current.downloaded = downloaded
        if stopWhenComplete { end(.completed) }
    }

    /// No data for `idle`.
    func idle(for idle: Duration) { current.idleTime = idle }

    /// Sent `bytes` to peers.
    func upload(_ bytes: Int64) { current.uploaded += bytes }

    /// A fault ends it.
    func fail(_ reason: String) {
        current.failure = reason
        end(.failed(reason))
    }

    private func end(_ result: TorrentSession.Outcome) {
        guard outcome == nil else { return }
        outcome = result
        ending?.resume(returning: result)
        ending = nil
        finishCheck()
    }
}

/// A metadata fetch that ends when the test delivers the metadata or the manager stops it.
actor StandInFetch: MetadataWork {
    let id: Int64
    private let queue: MemoryQueue
    private var ending: CheckedContinuation<Result<MagnetFetch.Fetched?, QueueError>, Never>?
    private var outcome: Result<MagnetFetch.Fetched?, QueueError>?
    private(set) var stopped = false

    init(id: Int64, queue: MemoryQueue) {
        self.id = id
        self.queue = queue
    }

    func run() async -> Result<MagnetFetch.Fetched?, QueueError> {
        try? queue.setState(torrentId: id, .fetchingMetadata, error: nil)
        if let outcome { return outcome }
        return await withCheckedContinuation { ending = $0 }
    }

    func stop() async {
        stopped = true
        end(.success(nil))
    }

    func status() async -> MetadataFetcher.Status? { nil }

    /// The metadata arrived and is stored.
    func deliver() {
        queue.attachMetadata(id)
        guard let record = queue.record(id) else { return }
        end(.success(MagnetFetch.Fetched(record: record, peers: [])))
    }

    private func end(_ result: Result<MagnetFetch.Fetched?, QueueError>) {
        guard outcome == nil else { return }
        outcome = result
        ending?.resume(returning: result)
        ending = nil
    }
}

/// A recheck that finds what the test says, when the test says, or ends when cancelled.
final class StandInCheck: CheckWork {
    private let verdict = Mutex<Bool?>(nil)
    let cancelled = Mutex(false)

    /// The check ends, finding the data complete or not.
    func finish(complete: Bool) { verdict.withLock { $0 = complete } }

    func run() async throws -> TorrentChecker.Result {
        while true {
            if let complete = verdict.withLock({ $0 }) {
                return TorrentChecker.Result(
                    validPieces: complete ? 64 : 10, pieceCount: 64, lostPieces: 0, foundPieces: 0,
                    bytesChecked: 1 << 20, duration: .milliseconds(1), isComplete: complete)
            }
            do {
                try await Task.sleep(for: .milliseconds(5))
            } catch {
                cancelled.withLock { $0 = true }
                throw error
            }
        }
    }
}
