import Testing

@testable import Engine

/// The work in progress of a queue manager as a value: which slots it holds, what ended and is taken
/// once, what a completed download and a seed over the limit do next, when a download stalls.
@Suite(.timeLimit(.minutes(5)))
struct QueueJobsTests {
    /// Torrents `t1`… in queue order (torrent `id` at position `id - 1`), complete when `complete`.
    private func records(_ count: Int, complete: Bool = false) -> [TorrentRecord] {
        let queue = MemoryQueue()
        return (1...count).map { queue.record(queue.add("t\($0)", complete: complete))! }
    }

    /// Jobs with a session of each of `downloads` and of each of `seeds`, and a fetch of each of `fetches`.
    private func jobs(
        downloads: [TorrentRecord] = [], seeds: [TorrentRecord] = [], fetches: [TorrentRecord] = []
    ) -> QueueJobs {
        var jobs = QueueJobs()
        for record in downloads {
            jobs.start(QueueJobs.Active(record: record, work: IdleWork(), limits: TransferLimits(), seeding: false)) {}
        }
        for record in seeds {
            jobs.start(
                QueueJobs.Active(
                    record: record, work: IdleWork(), limits: TransferLimits(), seeding: true, seedCheckPending: true)
            ) {}
        }
        for record in fetches { jobs.start(QueueJobs.Fetching(record: record, work: IdleFetch())) {} }
        return jobs
    }

    /// A status: complete or not, idle for `idle`.
    private func status(
        complete: Bool, idle: Duration = .zero, starting: Bool = false, incompleteAtStart: Bool = false
    ) -> TorrentStatus {
        var status = TorrentStatus(
            piecesDone: complete ? 64 : 0, piecesWanted: 64, bytesDone: complete ? 1 << 20 : 0, bytesWanted: 1 << 20,
            downloaded: 0, uploaded: 0, wasted: 0, downloadRate: 0, peers: 0, knownPeers: 0, isComplete: complete,
            failure: nil)
        status.idleTime = idle
        status.isStarting = starting
        status.wasIncompleteAtStart = incompleteAtStart
        return status
    }

    @Test func downloadsNotStalledAndFetchesHoldDownloadSlotsAndSeedsSeedSlots() {
        let torrents = records(6)
        var jobs = jobs(downloads: Array(torrents[0..<3]), seeds: Array(torrents[3..<5]), fetches: [torrents[5]])
        #expect(jobs.downloadSlotsHeld == 4)
        #expect(jobs.seedSlotsHeld == 2)
        #expect(jobs.noteStall(1, status(complete: false, idle: .seconds(61)), timeout: .seconds(60)) == true)
        #expect(jobs.downloadSlotsHeld == 3)
        #expect(jobs.seedSlotsHeld == 2)
        jobs.startCheck(7) {}
        #expect(jobs.tracked == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test func startedWorkIsTakenOnceAndIdleMeansNothingWorked() {
        var jobs = QueueJobs()
        #expect(jobs.isIdle)
        let torrents = records(2)
        jobs.startCheck(9) {}
        #expect(!jobs.isIdle)
        jobs.start(QueueJobs.Fetching(record: torrents[0], work: IdleFetch())) {}
        jobs.start(QueueJobs.Active(record: torrents[1], work: IdleWork(), limits: TransferLimits(), seeding: false)) {}
        #expect(jobs.takeStarting().count == 3)
        #expect(jobs.takeStarting().isEmpty)
        #expect(jobs.checks == [9])
        #expect(jobs.fetching.keys.sorted() == [1])
        #expect(jobs.active.keys.sorted() == [2])
    }

    @Test func anEndedSessionIsSettledOnceAndLeavesTheActive() {
        let torrents = records(2)
        var jobs = jobs(downloads: torrents)
        #expect(!jobs.sessionsEnded)
        jobs.sessionEnded(2, .completed, status(complete: true))
        // One that is not active (settled already) is passed over.
        jobs.sessionEnded(7, .stopped, status(complete: false))
        #expect(!jobs.sessionsEnded)
        jobs.sessionEnded(1, .failed("disk full"), status(complete: false))
        #expect(jobs.sessionsEnded)
        let first = jobs.takeEndedSession()
        #expect(first?.entry.record.id == 2)
        #expect(first?.outcome == .completed)
        let second = jobs.takeEndedSession()
        #expect(second?.entry.record.id == 1)
        #expect(second?.outcome == .failed("disk full"))
        #expect(jobs.takeEndedSession() == nil)
        #expect(jobs.active.isEmpty)
        #expect(jobs.finished.isEmpty)
    }

    @Test func aFetchThatEndedWithMetadataLeavesItsPeersForTheDownload() {
        let torrents = records(2)
        var jobs = jobs(fetches: torrents)
        let peer = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881)
        jobs.fetchEnded(1, .success(MagnetFetch.Fetched(record: torrents[0], peers: [(peer, .manual)])))
        jobs.fetchEnded(2, .failure(QueueError("no peers")))
        let fetched = jobs.takeEndedFetch()
        #expect(fetched?.fetch.record.id == 1)
        let failed = jobs.takeEndedFetch()
        #expect(failed?.fetch.record.id == 2)
        #expect(jobs.takeEndedFetch() == nil)
        #expect(jobs.fetching.isEmpty)
        #expect(jobs.downloadSlotsHeld == 0)
        #expect(jobs.takePeersMet(by: 1).map(\.address) == [peer])
        #expect(jobs.takePeersMet(by: 1).isEmpty)
        #expect(jobs.takePeersMet(by: 2).isEmpty)
    }

    @Test func endedChecksStayUntilCleared() {
        var jobs = QueueJobs()
        jobs.startCheck(3) {}
        jobs.startCheck(4) {}
        jobs.checkEnded(3, .failure(QueueError("unreadable")))
        #expect(jobs.finishedChecks.map(\.0) == [3])
        jobs.checkSettled(3)
        #expect(jobs.checks == [4])
        jobs.clearFinishedChecks()
        #expect(jobs.finishedChecks.isEmpty)
    }

    @Test func fetchesOfRemovedOrPausedTorrentsAreNoLongerWanted() {
        var torrents = records(3)
        let jobs = jobs(fetches: torrents)
        torrents[1].state = .paused
        // 1 unchanged (not among the rows read), 2 paused, 3 removed.
        let changed: [Int64: TorrentRecord] = [2: torrents[1]]
        #expect(jobs.fetchesNoLongerWanted(gone: [3], changed: changed).map(\.record.id).sorted() == [2, 3])
        #expect(jobs.fetchesNoLongerWanted(gone: [], changed: [:]).isEmpty)
    }

    @Test(arguments: [(0, QueueJobs.Completion.completed), (2, .seeding), (1, .waitingForSeedSlot)])
    func aCompletedDownloadSeedsOnInAFreeSeedSlot(maxSeeds: Int, next: QueueJobs.Completion) {
        let torrents = records(2)
        var jobs = jobs(downloads: [torrents[0]], seeds: [torrents[1]])
        #expect(jobs.downloadCompleted(1, maxSeeds: maxSeeds) == next)
        let entry = jobs.active[1]
        switch next {
        case .completed:
            #expect(entry?.endState == .completed && entry?.seeding == false)
        case .seeding:
            #expect(entry?.endState == nil && entry?.seeding == true)
            #expect(jobs.seedSlotsHeld == 2 && jobs.downloadSlotsHeld == 0)
        case .waitingForSeedSlot:
            #expect(entry?.endState == .queued && entry?.seeding == false)
        }
        #expect(jobs.downloadCompleted(5, maxSeeds: maxSeeds) == nil)
    }

    @Test func seedsBeyondALoweredLimitStopFurthestDownTheQueueFirst() {
        let torrents = records(4, complete: true)
        var jobs = jobs(downloads: [torrents[3]], seeds: Array(torrents[0..<3].reversed()))
        #expect(jobs.seedsBeyond(3).isEmpty)
        #expect(jobs.seedsBeyond(1).map(\.record.id) == [2, 3])
        #expect(jobs.active[2]?.endState == .queued && jobs.active[3]?.endState == .queued)
        #expect(jobs.active[1]?.endState == nil && jobs.active[4]?.endState == nil)
        // Those told to stop are not counted again; when nothing may seed, the last one is completed.
        #expect(jobs.seedsBeyond(1).isEmpty)
        #expect(jobs.seedsBeyond(0).map(\.record.id) == [1])
        #expect(jobs.active[1]?.endState == .completed)
    }

    @Test func aDownloadStallsAfterTheTimeoutWithoutDataAndUnstallsWhenDataFlows() {
        let torrents = records(1)
        var jobs = jobs(downloads: torrents)
        let timeout = Duration.seconds(60)
        #expect(jobs.noteStall(1, status(complete: false, idle: .seconds(59)), timeout: timeout) == nil)
        #expect(jobs.noteStall(1, status(complete: false, idle: .seconds(60), starting: true), timeout: timeout) == nil)
        #expect(jobs.noteStall(1, status(complete: true, idle: .seconds(60)), timeout: timeout) == nil)
        #expect(jobs.noteStall(1, status(complete: false, idle: .seconds(60)), timeout: timeout) == true)
        #expect(jobs.active[1]?.stalled == true)
        #expect(jobs.noteStall(1, status(complete: false, idle: .seconds(90)), timeout: timeout) == nil)
        #expect(jobs.noteStall(1, status(complete: false, idle: .seconds(1)), timeout: timeout) == false)
        #expect(jobs.active[1]?.stalled == false)
        #expect(jobs.noteStall(2, status(complete: false, idle: .seconds(60)), timeout: timeout) == nil)
    }

    @Test func aSeedFoundIncompleteDownloadsAgainOnce() {
        let torrents = records(3, complete: true)
        var jobs = jobs(seeds: torrents)
        #expect(jobs.seedLacksData(1, status(complete: true)) == false)
        #expect(jobs.seedLacksData(1, status(complete: false, starting: true)) == false)
        #expect(jobs.seedLacksData(1, status(complete: false)) == true)
        #expect(jobs.active[1]?.seeding == false && jobs.active[1]?.seedCheckPending == false)
        #expect(jobs.seedSlotsHeld == 2 && jobs.downloadSlotsHeld == 1)
        // Its pieces came back before the look: still once a download again, and not twice.
        #expect(jobs.seedLacksData(2, status(complete: true, incompleteAtStart: true)) == true)
        #expect(jobs.seedLacksData(2, status(complete: false)) == false)
        // A failed seed is not a download.
        var failed = status(complete: false)
        failed.failure = "disk gone"
        #expect(jobs.seedLacksData(3, failed) == false)
        #expect(jobs.active[3]?.seeding == true)
    }

    /// The seeds' ids (ascending) and the downloads' follow every change of role: a start, a completed
    /// download going on seeding, a seed found incomplete, a session settled, all taken.
    @Test func seedAndDownloadIdsFollowEveryChangeOfRole() {
        let torrents = records(6)
        var jobs = jobs(downloads: [torrents[4], torrents[0]], seeds: [torrents[5], torrents[2], torrents[3]])
        /// Whether the indexes say what the sessions say.
        func consistent() -> Bool {
            jobs.seedIds == jobs.active.filter(\.value.seeding).keys.sorted()
                && jobs.downloadIds == Set(jobs.active.filter { !$0.value.seeding }.keys)
        }
        #expect(jobs.seedIds == [3, 4, 6] && jobs.downloadIds == [1, 5] && consistent())
        #expect(jobs.downloadCompleted(1, maxSeeds: 10) == .seeding)
        #expect(jobs.seedIds == [1, 3, 4, 6] && jobs.downloadIds == [5] && consistent())
        #expect(jobs.seedLacksData(4, status(complete: false)) == true)
        #expect(jobs.seedIds == [1, 3, 6] && jobs.downloadIds == [4, 5] && consistent())
        jobs.sessionEnded(3, .stopped, status(complete: true))
        jobs.sessionEnded(5, .stopped, status(complete: false))
        while jobs.takeEndedSession() != nil {}
        #expect(jobs.seedIds == [1, 6] && jobs.downloadIds == [4] && consistent())
        jobs.start(QueueJobs.Active(record: torrents[1], work: IdleWork(), limits: TransferLimits(), seeding: true)) {}
        #expect(jobs.seedIds == [1, 2, 6] && consistent())
        #expect(jobs.seedSlotsHeld == 3 && jobs.downloadSlotsHeld == 1)
        _ = jobs.takeSessions()
        #expect(jobs.seedIds.isEmpty && jobs.downloadIds.isEmpty)
    }

    @Test func takingTheSessionsLeavesNone() {
        let torrents = records(2)
        var jobs = jobs(downloads: torrents)
        #expect(jobs.takeSessions().keys.sorted() == [1, 2])
        #expect(jobs.active.isEmpty && jobs.takeSessions().isEmpty)
    }
}

/// A session that is never run.
private struct IdleWork: DownloadWork {
    func addPeers(_ peers: [(address: PeerAddress, source: PeerUpdate.Source)]) async {}
    func run() async -> TorrentSession.Outcome { .stopped }
    func status() async -> TorrentStatus {
        TorrentStatus(
            piecesDone: 0, piecesWanted: 1, bytesDone: 0, bytesWanted: 1, downloaded: 0, uploaded: 0, wasted: 0,
            downloadRate: 0, peers: 0, knownPeers: 0, isComplete: false, failure: nil)
    }
    func stop() async {}
    func saveProgressNow() async {}
}

/// A metadata fetch that is never run.
private struct IdleFetch: MetadataWork {
    func run() async -> Result<MagnetFetch.Fetched?, QueueError> { .success(nil) }
    func stop() async {}
    func status() async -> MetadataFetcher.Status? { nil }
}
