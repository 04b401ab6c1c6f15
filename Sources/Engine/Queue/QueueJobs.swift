/// The work a ``QueueManager`` has in progress, as a value: the sessions downloading or seeding, the
/// metadata fetches of magnet links, the rechecks, the work a pass started that the run has not taken
/// yet, and what ended since the last pass; with what follows from them alone: the slots they hold,
/// the seeds beyond the seed limit, what a download that completed does next, when one stalls.
///
/// The manager owns it. It awaits the work's status and reads and writes the store; it tells the jobs
/// what it saw and does what they decide (stops a session, saves seeding time, reports the change).
struct QueueJobs {
    /// A torrent's session, downloading or seeding.
    struct Active {
        /// The row the session started on, held by reference: the jobs' table keeps a slot per
        /// torrent and more (8,192 for 5,000 seeds), each as wide as this struct, which the record's 352
        /// bytes would more than triple.
        var record: TorrentRecord { box.record }
        private let box: RecordBox
        let work: any DownloadWork
        let limits: TransferLimits
        /// Holds a seed slot (started complete, or finished its download and went on seeding).
        var seeding: Bool
        /// The state to record when the session ends because the runner stopped it.
        var endState: TorrentState?
        /// Seeding time counted and not yet saved.
        var seedClock = SeedClock()
        /// No data for the stall timeout: it keeps trying but does not hold a download slot.
        var stalled = false
        /// Its torrent was removed and added again: it stops, and nothing more of it is recorded.
        var abandoned = false
        /// Started as a seed, and not yet seen to have found its data whole or incomplete at start: a seed
        /// found incomplete is recorded as a download again (once per session).
        var seedCheckPending = false
        /// Started ahead of its download slot to check its data (it never ran, and every slot was taken):
        /// it holds no download slot, and waits after its start check until the queue lets it go on or
        /// stops it (``SessionConfiguration/holdsAfterStartCheck``).
        var checkingAhead = false
        /// The download order the session follows.
        var order: DownloadOrder
        /// The record's ``TorrentRecord/prioritiesChanged`` when the session last read its file priorities.
        var prioritiesChanged: Int64

        init(
            record: TorrentRecord, work: any DownloadWork, limits: TransferLimits, seeding: Bool,
            seedCheckPending: Bool = false, checkingAhead: Bool = false
        ) {
            box = RecordBox(record)
            self.work = work
            self.limits = limits
            self.seeding = seeding
            self.seedCheckPending = seedCheckPending
            self.checkingAhead = checkingAhead
            order = record.downloadOrder
            prioritiesChanged = record.prioritiesChanged
        }
    }

    /// A torrent's row, shared by the copies of its ``Active`` entry.
    private final class RecordBox: Sendable {
        let record: TorrentRecord
        init(_ record: TorrentRecord) { self.record = record }
    }

    /// A magnet link's metadata fetch in progress.
    struct Fetching {
        let record: TorrentRecord
        let work: any MetadataWork
    }

    /// Where a download that completed goes next.
    enum Completion: Equatable {
        /// Nothing may seed: it stops and is `completed`.
        case completed
        /// It seeds on, in a free seed slot.
        case seeding
        /// Every seed slot is taken: it stops and waits `queued` for one.
        case waitingForSeedSlot
    }

    /// A peer a finished fetch met, and where it came from.
    typealias MetPeer = (address: PeerAddress, source: PeerUpdate.Source)

    /// Sessions downloading or seeding.
    private(set) var active: [Int64: Active] = [:]
    /// The sessions that hold a seed slot, by id in ascending order; kept as sessions start, change role
    /// and end, so that a pass finds the seeds (and the slice of them it looks at) without going over
    /// every session.
    private(set) var seedIds: [Int64] = []
    /// The sessions that do not hold a seed slot (downloading), kept likewise.
    private(set) var downloadIds: Set<Int64> = []
    /// The downloads started ahead of their slot that the queue has not let go on yet (see
    /// ``Active/checkingAhead``).
    private(set) var checkingAhead: Set<Int64> = []
    /// Work started by the last pass, for ``QueueManager/run(pollInterval:onChange:)`` to add to its task
    /// group.
    private(set) var starting: [@Sendable () async -> Void] = []
    /// Full rechecks running (`btq verify` handed to the daemon).
    private(set) var checks: Set<Int64> = []
    /// Rechecks that ended, with what they found, and whose verdict is not recorded yet.
    private(set) var finishedChecks: [(Int64, Result<TorrentChecker.Result, any Error>)] = []
    /// Sessions that ended and are not settled yet.
    private(set) var finished: [(id: Int64, outcome: TorrentSession.Outcome, status: TorrentStatus)] = []
    /// Magnet links fetching their metadata; each holds a download slot.
    private(set) var fetching: [Int64: Fetching] = [:]
    /// Fetches that ended and are not settled yet.
    private(set) var fetchesEnded: [(Int64, Result<MagnetFetch.Fetched?, QueueError>)] = []
    /// Peers a finished fetch met, for the torrent's download.
    private(set) var fetchedPeers: [Int64: [MetPeer]] = [:]

    // MARK: What is worked

    /// The torrents worked now: sessions, fetches and checks.
    var tracked: Set<Int64> { Set(active.keys).union(fetching.keys).union(checks) }

    /// A session, fetch or check ended and is not settled yet.
    var hasEndedWork: Bool { !finished.isEmpty || !fetchesEnded.isEmpty || !finishedChecks.isEmpty }

    /// Nothing is worked.
    var isIdle: Bool { active.isEmpty && fetching.isEmpty && checks.isEmpty }

    /// Download slots held: by downloads that are not stalled nor checking ahead of their slot, and by
    /// metadata fetches.
    var downloadSlotsHeld: Int {
        downloadIds.reduce(0) { held, id in
            held + (active[id].map { !$0.stalled && !$0.checkingAhead } == true ? 1 : 0)
        } + fetching.count
    }

    /// Seed slots held, also by seeds told to stop that have not ended yet.
    var seedSlotsHeld: Int { seedIds.count }

    /// Every session has ended (it may not be settled yet).
    var sessionsEnded: Bool { Set(finished.map(\.id)).isSuperset(of: active.keys) }

    // MARK: Starting and ending

    /// A session starts; `run` is handed to the run's task group.
    mutating func start(_ entry: Active, run: @escaping @Sendable () async -> Void) {
        starting.append(run)
        active[entry.record.id] = entry
        index(entry.record.id, seeding: entry.seeding)
        if entry.checkingAhead { checkingAhead.insert(entry.record.id) }
    }

    /// The download of torrent `id`, started ahead of its slot, goes on past its start check: it seeds, or
    /// holds a download slot from now on.
    mutating func goesOn(_ id: Int64) {
        checkingAhead.remove(id)
        active[id]?.checkingAhead = false
    }

    /// Work beside a session that ends on its own (the session's run returns from what it waits for):
    /// `run` is handed to the run's task group.
    mutating func startBeside(_ run: @escaping @Sendable () async -> Void) { starting.append(run) }

    /// A metadata fetch starts; `run` is handed to the run's task group.
    mutating func start(_ fetch: Fetching, run: @escaping @Sendable () async -> Void) {
        fetching[fetch.record.id] = fetch
        starting.append(run)
    }

    /// A recheck of torrent `id` starts; `run` is handed to the run's task group.
    mutating func startCheck(_ id: Int64, run: @escaping @Sendable () async -> Void) {
        checks.insert(id)
        starting.append(run)
    }

    /// Takes the work started since the last call.
    mutating func takeStarting() -> [@Sendable () async -> Void] {
        defer { starting = [] }
        return starting
    }

    /// Takes the peers the fetch of torrent `id` met, for its download.
    mutating func takePeersMet(by id: Int64) -> [MetPeer] { fetchedPeers.removeValue(forKey: id) ?? [] }

    /// The session of torrent `id` ended.
    mutating func sessionEnded(_ id: Int64, _ outcome: TorrentSession.Outcome, _ status: TorrentStatus) {
        finished.append((id, outcome, status))
    }

    /// The metadata fetch of torrent `id` ended.
    mutating func fetchEnded(_ id: Int64, _ result: Result<MagnetFetch.Fetched?, QueueError>) {
        fetchesEnded.append((id, result))
    }

    /// The recheck of torrent `id` ended.
    mutating func checkEnded(_ id: Int64, _ result: Result<TorrentChecker.Result, any Error>) {
        finishedChecks.append((id, result))
    }

    // MARK: Settling what ended

    /// The first ended session not settled yet, no longer active; `nil` when none is left.
    mutating func takeEndedSession() -> (entry: Active, outcome: TorrentSession.Outcome, status: TorrentStatus)? {
        while !finished.isEmpty {
            let ended = finished.removeFirst()
            if let entry = active.removeValue(forKey: ended.id) {
                index(ended.id, seeding: nil)
                checkingAhead.remove(ended.id)
                return (entry, ended.outcome, ended.status)
            }
        }
        return nil
    }

    /// The first ended fetch not settled yet, no longer fetching; the peers a successful one met wait
    /// for its download (``takePeersMet(by:)``). `nil` when none is left.
    mutating func takeEndedFetch() -> (fetch: Fetching, result: Result<MagnetFetch.Fetched?, QueueError>)? {
        while !fetchesEnded.isEmpty {
            let (id, result) = fetchesEnded.removeFirst()
            guard let fetch = fetching.removeValue(forKey: id) else { continue }
            if case .success(let fetched?) = result { fetchedPeers[id] = fetched.peers }
            return (fetch, result)
        }
        return nil
    }

    /// The recheck of torrent `id` is no longer running (its verdict is being recorded).
    mutating func checkSettled(_ id: Int64) { checks.remove(id) }

    /// Forgets the ended rechecks, once each verdict is recorded.
    mutating func clearFinishedChecks() { finishedChecks = [] }

    /// Takes every session (the run ends).
    mutating func takeSessions() -> [Int64: Active] {
        defer {
            active = [:]
            seedIds = []
            downloadIds = []
            checkingAhead = []
        }
        return active
    }

    /// Files session `id` under its role: holding a seed slot, downloading, or (`nil`) gone.
    private mutating func index(_ id: Int64, seeding: Bool?) {
        let at = Self.insertionPoint(of: id, in: seedIds)
        let isSeed = at < seedIds.count && seedIds[at] == id
        if seeding == true, !isSeed { seedIds.insert(id, at: at) }
        if seeding != true, isSeed { seedIds.remove(at: at) }
        if seeding == false { downloadIds.insert(id) } else { downloadIds.remove(id) }
    }

    /// Where `id` is, or would go, in the ascending `ids`.
    static func insertionPoint(of id: Int64, in ids: [Int64]) -> Int {
        var (low, high) = (0, ids.count)
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Whether `id` is in the ascending `ids`.
    static func contains(_ id: Int64, in ids: [Int64]) -> Bool {
        let at = insertionPoint(of: id, in: ids)
        return at < ids.count && ids[at] == id
    }

    // MARK: Decisions

    /// The torrents whose session or fetch started on a row that was since removed and added again
    /// (`records`, read this pass, has a later ``TorrentRecord/addedAt``): to the jobs they are removed.
    func addedAgain(_ records: [Int64: TorrentRecord]) -> [Int64] {
        // A look per row read, not per torrent worked.
        records.compactMap { id, current in
            guard let started = active[id]?.record ?? fetching[id]?.record, current.addedAt != started.addedAt else {
                return nil
            }
            return id
        }
    }

    /// The session of torrent `id` works a row that was removed and added again: it is to stop, and
    /// nothing of it (seeding time, completion, stalls, its ending) is recorded any more.
    mutating func abandon(_ id: Int64) {
        active[id]?.abandoned = true
        active[id]?.endState = .queued
    }

    /// The fetches of torrents `gone` (removed, deleted, added again) or paused (their rows as `changed`
    /// has them): to stop.
    func fetchesNoLongerWanted(gone: Set<Int64>, changed: [Int64: TorrentRecord]) -> [Fetching] {
        fetching.filter { gone.contains($0.key) || changed[$0.key]?.state == .paused }.map(\.value)
    }

    /// The download of torrent `id` completed: it seeds on when a seed slot is free (of `maxSeeds`), else
    /// it is to stop (see ``Completion``).
    mutating func downloadCompleted(_ id: Int64, maxSeeds: Int) -> Completion? {
        guard active[id] != nil else { return nil }
        guard maxSeeds > 0 else {
            active[id]?.endState = .completed
            return .completed
        }
        guard maxSeeds > seedSlotsHeld else {
            active[id]?.endState = .queued
            return .waitingForSeedSlot
        }
        active[id]?.seeding = true
        index(id, seeding: true)
        active[id]?.seedClock.start()
        return .seeding
    }

    /// Whether seed `id`, whose session reports `status`, lacks data: its data went missing or was damaged
    /// (found when it started, even when the missing pieces came back before this look). It then downloads
    /// again, in a download slot, and seeds once it is complete again.
    mutating func seedLacksData(_ id: Int64, _ status: TorrentStatus) -> Bool {
        guard let entry = active[id], entry.seeding else { return false }
        let repaired = status.wasIncompleteAtStart && entry.seedCheckPending
        guard !((status.isComplete && !repaired) || status.isStarting || status.failure != nil) else { return false }
        active[id]?.seeding = false
        index(id, seeding: false)
        active[id]?.seedCheckPending = false
        return true
    }

    /// Seeding seconds of session `id` to save now, when it is time to.
    mutating func seedingSecondsToSave(_ id: Int64) -> Int64? {
        guard active[id]?.seedClock.tick() == true else { return nil }
        return active[id]?.seedClock.takeUnsaved()
    }

    /// Session `id` is to stop, and record `state` when it ends.
    mutating func end(_ id: Int64, as state: TorrentState) { active[id]?.endState = state }

    /// What of `record` (read this pass) its running session does not follow yet: a new download order,
    /// and whether its file priorities changed; noted as followed.
    mutating func settingsChanged(_ record: TorrentRecord) -> (order: DownloadOrder?, priorities: Bool) {
        guard let entry = active[record.id] else { return (nil, false) }
        let order = entry.order == record.downloadOrder ? nil : record.downloadOrder
        let priorities = entry.prioritiesChanged != record.prioritiesChanged
        active[record.id]?.order = record.downloadOrder
        active[record.id]?.prioritiesChanged = record.prioritiesChanged
        return (order, priorities)
    }

    /// Seeds beyond `maxSeeds` (lowered while they run), furthest down the queue first: each is to stop
    /// and wait `queued` for a seed slot again (or be `completed` when nothing may seed).
    mutating func seedsBeyond(_ maxSeeds: Int) -> [Active] {
        guard seedSlotsHeld > maxSeeds else { return [] }
        let seeds = seedIds.compactMap { active[$0] }.filter { $0.endState == nil }
            .sorted { $0.record.queuePosition < $1.record.queuePosition }
        guard seeds.count > maxSeeds else { return [] }
        let beyond = Array(seeds.dropFirst(maxSeeds))
        for entry in beyond { active[entry.record.id]?.endState = maxSeeds > 0 ? .queued : .completed }
        return beyond
    }

    /// Notes whether download `id`, whose session reports `status`, is stalled: no data for `timeout`
    /// (unless complete or still starting). Returns the new value when it changed.
    mutating func noteStall(_ id: Int64, _ status: TorrentStatus, timeout: Duration) -> Bool? {
        let stalled = !status.isComplete && !status.isStarting && status.idleTime >= timeout
        guard let current = active[id], stalled != current.stalled else { return nil }
        active[id]?.stalled = stalled
        return stalled
    }
}
