import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// The queue manager's decisions, in process: an in-memory queue and downloads whose progress the test
/// decides (the end-to-end suites run the same manager with real sessions against real clients).
@Suite(.timeLimit(.minutes(5)))
struct QueueManagerTests {
    /// A manager working `queue` with stand-in workers, run until the test's body returns.
    private func working(
        _ queue: MemoryQueue, maxActive: Int? = nil, checkAhead: Int = 0,
        _ body: (StandInWorkers, Lines) async throws -> Void
    ) async throws {
        try await managing(queue, maxActive: maxActive, scope: .queue, checkAhead: checkAhead) {
            (workers, lines, _, _) async throws in
            try await body(workers, lines)
        }
    }

    /// A manager of `scope` in `queue`, started, and handed to `body` with the lines it reports and its run's
    /// task; stopped when `body` returns. Nothing is checked ahead of its slot unless `checkAhead` says so
    /// (the tests of the slots count the sessions started).
    private func managing(
        _ queue: MemoryQueue, maxActive: Int?, scope: QueueScope, pollInterval: Duration = .milliseconds(5),
        checkAhead: Int = 0,
        _ body: (StandInWorkers, Lines, QueueManager, Task<Void, Never>) async throws -> Void
    ) async throws {
        queue.set(TransferSettings.checkAheadKey, "\(checkAhead)")
        let workers = StandInWorkers(queue: queue)
        let lines = Lines()
        let manager = QueueManager(
            store: queue, workers: workers, configuration: SessionConfiguration(listenPort: 1), maxActive: maxActive,
            scope: scope, processRun: try ProcessRun(store: queue), logger: Logger(label: "test"))
        let running = Task { await manager.run(pollInterval: pollInterval) { lines.append($0) } }
        do {
            try await body(workers, lines, manager, running)
        } catch {
            await manager.stop()
            await running.value
            throw error
        }
        await manager.stop()
        await running.value
    }

    @Test func twoOfFiveDownloadAtOnceInQueueOrder() async throws {
        let queue = MemoryQueue()
        let ids = (1...5).map { queue.add("t\($0)") }
        queue.set(TransferSettings.maxSeedsKey, "0")
        try await working(queue, maxActive: 2) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 2 })
            #expect(workers.started == [ids[0], ids[1]])
            #expect(queue.state(ids[0]) == .downloading && queue.state(ids[2]) == .queued)
            for id in ids {
                #expect(try await poll(timeout: .seconds(10)) { workers.download(id) != nil })
                await workers.download(id)?.complete()
                #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .completed })
            }
            #expect(workers.started == ids)
        }
        #expect(activeIds(queue).isEmpty)
        #expect(queue.contents.withLock { $0.runs.allSatisfy { $0.stoppedAt != nil && $0.clean } })
    }

    /// Downloads found complete in one pass go on seeding with one write of their states, not one each.
    @Test func completionsWriteTheirStatesTogether() async throws {
        let queue = MemoryQueue()
        let ids = (1...6).map { queue.add("t\($0)") }
        queue.set(TransferSettings.maxSeedsKey, "6")
        try await working(queue, maxActive: 6) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 6 })
            #expect(ids.allSatisfy { queue.state($0) == .downloading })
            for id in ids { await workers.download(id)?.complete() }
            #expect(try await poll(timeout: .seconds(10)) { ids.allSatisfy { queue.state($0) == .seeding } })
            let batches = queue.contents.withLock { $0.stateBatches }
            #expect(batches.reduce(0, +) == ids.count && !batches.contains(0), "\(batches)")
        }
    }

    /// `btq order` and `btq files` change a running torrent's row: the next pass tells its session, once.
    @Test func aRunningDownloadFollowsItsOrderAndFilePriorities() async throws {
        let queue = MemoryQueue()
        let id = queue.add("t1")
        try await working(queue, maxActive: 1) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.download(id) != nil })
            let work = try #require(workers.download(id))
            queue.contents.withLock { $0.torrents[id]?.downloadOrder = .sequential }
            #expect(try await poll(timeout: .seconds(10)) { await work.orders == [.sequential] })
            #expect(await work.priorityReloads == 0)
            queue.contents.withLock { $0.torrents[id]?.prioritiesChanged += 1 }
            #expect(try await poll(timeout: .seconds(10)) { await work.priorityReloads == 1 })
            queue.contents.withLock { $0.torrents[id]?.downloadOrder = .firstLast }
            #expect(try await poll(timeout: .seconds(10)) { await work.orders == [.sequential, .firstLast] })
            #expect(await work.priorityReloads == 1, "an unchanged counter reloads nothing")
        }
    }

    @Test func neverMoreThanTheLimitAtOnce() async throws {
        let queue = MemoryQueue()
        let ids = (1...6).map { queue.add("t\($0)") }
        queue.set(TransferSettings.maxSeedsKey, "0")
        try await working(queue, maxActive: 2) { (workers, _) async throws in
            // Complete them in reverse of their start, each as soon as it runs.
            var done = 0
            while done < ids.count {
                #expect(try await poll(timeout: .seconds(10)) { workers.started.count > done })
                let id = workers.started[done]
                await workers.download(id)?.complete()
                #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .completed })
                done += 1
            }
            #expect(workers.mostRunning == 2)
        }
    }

    @Test func aStalledDownloadGivesUpItsSlotAndTakesItBack() async throws {
        let queue = MemoryQueue()
        let first = queue.add("stalls")
        let second = queue.add("next")
        queue.set(QueueManager.stallTimeoutSetting, "60")
        try await working(queue, maxActive: 1) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.download(first) != nil })
            #expect(workers.started == [first])
            await workers.download(first)?.idle(for: .seconds(61))
            #expect(try await poll(timeout: .seconds(10)) { workers.download(second) != nil })
            #expect(queue.events(first, .stalled).count == 1)
            #expect(lines.contains("stalled #\(first) stalls"))
            // It keeps its session (still looking for peers) while the next one downloads.
            #expect(await workers.download(first)?.ended == false)
            await workers.download(first)?.idle(for: .zero)
            #expect(try await poll(timeout: .seconds(10)) { lines.contains("unstalled #\(first) stalls") })
        }
    }

    /// Passes over a queue nobody changed read no torrent rows (an idle daemon's passes do not grow with its
    /// seeds), yet every seed is still looked at in slices (one reaching its ratio limit stops), and a
    /// change written to the queue is followed at the next pass.
    @Test func passesOverAnUnchangedQueueReadNoRowsYetFollowSeedsAndChanges() async throws {
        let queue = MemoryQueue()
        queue.set(TransferSettings.seedRatioKey, "1")
        queue.set(TransferSettings.maxSeedsKey, "45")
        let seeds = (1...45).map { queue.add("seed\($0)", complete: true, downloaded: 1 << 20) }
        try await working(queue, maxActive: 1) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(20)) { seeds.allSatisfy { queue.state($0) == .seeding } })
            #expect(try await poll(timeout: .seconds(20)) { workers.started.count == seeds.count })
            // Starting them changed the queue: a few passes read it; then the passes go quiet.
            let settled = queue.contents.withLock { $0.generationReads }
            #expect(
                try await poll(timeout: .seconds(20)) { queue.contents.withLock { $0.generationReads } > settled + 5 })
            let (passes, reads) = queue.contents.withLock { ($0.generationReads, $0.workedRowReads) }
            #expect(
                try await poll(timeout: .seconds(20)) {
                    queue.contents.withLock { $0.generationReads } > passes + 2 * PassRhythm.seedLookPasses
                })
            #expect(queue.contents.withLock { $0.workedRowReads } == reads, "no rows read while nothing changed")
            // A seed is still looked at: reaching its ratio limit stops it within a round of slices.
            let last = try #require(seeds.last)
            await workers.download(last)?.upload(1 << 20)
            #expect(try await poll(timeout: .seconds(20)) { queue.state(last) == .completed })
            #expect(queue.events(last, .seedLimit).count == 1)
            // The user pauses one: the changed queue is read at the next pass.
            queue.pause(seeds[0])
            #expect(try await poll(timeout: .seconds(20)) { await workers.download(seeds[0])?.ended == true })
            #expect(queue.contents.withLock { $0.workedRowReads } > reads)
        }
    }

    /// A start storm (a restart of thousands of seeds) starts its sessions in slices, so the first ones
    /// check and announce while the next are started: no pass starts more than
    /// ``QueueManager/startsPerPass``, and all start without waiting for the (here hour-long) poll.
    @Test func aStartStormStartsInSlices() async throws {
        let queue = MemoryQueue()
        let count = 2 * QueueManager.startsPerPass + 50
        queue.set(TransferSettings.maxSeedsKey, "\(count)")
        let seeds = (1...count).map { queue.add("seed\($0)", complete: true, downloaded: 1 << 20) }
        try await managing(queue, maxActive: 1, scope: .queue, pollInterval: .seconds(3600)) {
            (workers, _, _, _) async throws in
            #expect(try await poll(timeout: .seconds(30)) { seeds.allSatisfy { queue.state($0) == .seeding } })
            let slices = workers.startedByPass
            #expect(slices.values.reduce(0, +) == count)
            #expect(slices.values.allSatisfy { $0 <= QueueManager.startsPerPass })
            #expect(slices.count >= 3)
        }
    }

    @Test func seedsStopAtTheRatioLimitAndDoNotStartPastIt() async throws {
        let queue = MemoryQueue()
        queue.set(TransferSettings.seedRatioKey, "1")
        let seed = queue.add("seed", complete: true, downloaded: 1 << 20)
        let reached = queue.add("reached", complete: true, downloaded: 1 << 20, uploaded: 2 << 20)
        let download = queue.add("download")
        try await working(queue, maxActive: 1) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { queue.state(reached) == .completed })
            #expect(queue.events(reached, .seedLimit).count == 1)
            #expect(try await poll(timeout: .seconds(10)) { workers.download(seed) != nil })
            #expect(queue.state(seed) == .seeding)
            #expect(try await poll(timeout: .seconds(10)) { workers.download(download) != nil })
            // Seeds hold seed slots, not download slots: the download started beside it.
            await workers.download(seed)?.upload(1 << 20)
            #expect(try await poll(timeout: .seconds(10)) { queue.state(seed) == .completed })
            #expect(queue.events(seed, .seedLimit).count == 1)
            #expect(await workers.download(seed)?.ended == true)
            // The finished download seeds on, within the same limit.
            await workers.download(download)?.complete()
            #expect(try await poll(timeout: .seconds(10)) { queue.state(download) == .seeding })
            #expect(!workers.started.contains(reached))
        }
        #expect(activeIds(queue).isEmpty)
    }

    @Test func aPauseDuringAMetadataFetchStopsIt() async throws {
        let queue = MemoryQueue()
        let magnet = queue.add("magnet", magnet: true)
        let other = queue.add("other")
        try await working(queue, maxActive: 1) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { queue.state(magnet) == .fetchingMetadata })
            // The fetch holds the one download slot.
            #expect(workers.started.isEmpty)
            queue.pause(magnet)
            #expect(try await poll(timeout: .seconds(10)) { await workers.fetch(magnet)?.stopped == true })
            #expect(try await poll(timeout: .seconds(10)) { lines.contains("stopped #\(magnet) magnet") })
            #expect(queue.state(magnet) == .paused)
            #expect(try await poll(timeout: .seconds(10)) { workers.download(other) != nil })
        }
    }

    @Test func aFetchedMagnetDownloadsInItsSlot() async throws {
        let queue = MemoryQueue()
        let magnet = queue.add("magnet", magnet: true)
        try await working(queue, maxActive: 1) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.fetch(magnet) != nil })
            await workers.fetch(magnet)?.deliver()
            #expect(try await poll(timeout: .seconds(10)) { workers.download(magnet) != nil })
            #expect(lines.contains("metadata #\(magnet) magnet: 1 files"))
            #expect(queue.state(magnet) == .downloading)
        }
    }

    @Test func aFailedTorrentRecordsItsErrorAndFreesItsSlot() async throws {
        let queue = MemoryQueue()
        let failing = queue.add("failing")
        let next = queue.add("next")
        try await working(queue, maxActive: 1) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.download(failing) != nil })
            await workers.download(failing)?.fail("disk full")
            #expect(try await poll(timeout: .seconds(10)) { queue.state(failing) == .error })
            #expect(queue.record(failing)?.lastError == "disk full")
            #expect(lines.contains("error #\(failing) failing: disk full"))
            #expect(try await poll(timeout: .seconds(10)) { workers.download(next) != nil })
            // Never retried by itself: an error waits for the user.
            #expect(workers.started == [failing, next])
        }
    }

    @Test func torrentsAddedWhileRunningStart() async throws {
        let queue = MemoryQueue()
        queue.set(TransferSettings.maxSeedsKey, "0")
        try await working(queue, maxActive: 2) { (workers, _) async throws in
            let late = queue.add("late")
            #expect(try await poll(timeout: .seconds(10)) { workers.download(late) != nil })
            let later = queue.add("later")
            let latest = queue.add("latest")
            #expect(try await poll(timeout: .seconds(10)) { workers.download(later) != nil })
            // The limit holds for late additions too: the third waits for a slot.
            #expect(workers.download(latest) == nil && queue.state(latest) == .queued)
            await workers.download(late)?.complete()
            #expect(try await poll(timeout: .seconds(10)) { workers.download(latest) != nil })
        }
    }

    @Test func stoppingRequeuesWhatWasActive() async throws {
        let queue = MemoryQueue()
        let id = queue.add("t")
        try await working(queue, maxActive: 1) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .downloading })
        }
        #expect(queue.state(id) == .queued)
    }

    /// Torrents added with their data in place start as downloads (nothing says they are complete) and
    /// their start check finds them complete: each frees its download slot for the next one as soon as
    /// its check is done, not at the next tick (here an hour away).
    @Test func aDownloadFoundCompleteAtStartFreesItsSlotAtOnce() async throws {
        let queue = MemoryQueue()
        let ids = (1...3).map { queue.add("t\($0)") }
        try await managing(queue, maxActive: 1, scope: .queue, pollInterval: .seconds(3600)) {
            (workers, _, _, _) async throws in
            for (index, id) in ids.enumerated() {
                #expect(try await poll(timeout: .seconds(10)) { workers.download(id) != nil })
                #expect(workers.started == Array(ids.prefix(index + 1)))
                let download = try #require(workers.download(id))
                await download.complete()
                await download.finishCheck()
                #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .seeding })
            }
            #expect(workers.started == ids)
        }
    }

    /// While the one download slot is taken, two torrents that never ran are checked ahead of it, held after
    /// their check and still `queued`: the one found complete seeds, the one found incomplete stops with a
    /// `checked` event and waits `queued` (it is not checked ahead again), and the next that never ran is
    /// checked in its place. When the slot frees, queue order decides: the checked one takes it.
    @Test func torrentsThatNeverRanAreCheckedAheadOfTheSlots() async throws {
        let queue = MemoryQueue()
        let ids = (1...5).map { queue.add("t\($0)") }
        queue.set(TransferSettings.maxSeedsKey, "10")
        try await working(queue, maxActive: 1, checkAhead: 2) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 3 })
            #expect(workers.started == [ids[0], ids[1], ids[2]])
            let first = try #require(workers.download(ids[0]))
            let whole = try #require(workers.download(ids[1]))
            let partial = try #require(workers.download(ids[2]))
            #expect(first.held == false && whole.held && partial.held)
            #expect(queue.state(ids[0]) == .downloading)
            #expect(queue.state(ids[1]) == .queued && queue.state(ids[2]) == .queued)
            #expect(lines.contains("checking #\(ids[1]) t2 ahead of its download slot"))
            // Found complete: it seeds, and the next that never ran is checked in its place.
            await whole.complete()
            await whole.finishCheck()
            #expect(try await poll(timeout: .seconds(10)) { queue.state(ids[1]) == .seeding })
            #expect(await whole.wentOn)
            #expect(await whole.ended == false)
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 4 })
            #expect(workers.started.last == ids[3])
            // Found incomplete with no slot free: it stops, checked, and waits queued.
            await partial.finishCheck()
            #expect(try await poll(timeout: .seconds(10)) { await partial.ended })
            #expect(await partial.wentOn == false)
            #expect(try await poll(timeout: .seconds(10)) { queue.events(ids[2], .checked).count == 1 })
            #expect(queue.state(ids[2]) == .queued && queue.record(ids[2])?.startedAt != nil)
            #expect(queue.events(ids[2], .checked).first?.detail?.contains("0 of 64 wanted pieces there") == true)
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 5 })
            #expect(workers.started.last == ids[4], "the next that never ran, not the one checked already")
            // The slot frees: the checked torrent, first in the queue, takes it and is not held.
            await first.complete()
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 6 })
            #expect(workers.started.last == ids[2])
            #expect(workers.download(ids[2])?.held == false)
            #expect(try await poll(timeout: .seconds(10)) { queue.state(ids[2]) == .downloading })
        }
    }

    /// However many torrents that ran before wait ahead of them in the queue, those that never ran are
    /// found and checked ahead of the slots (not only among the first candidates of the queue).
    @Test func theCheckAheadLooksPastTorrentsThatRanBefore() async throws {
        let queue = MemoryQueue()
        let ran = (1...100).map { queue.add("ran\($0)") }
        for id in ran { queue.contents.withLock { $0.torrents[id]?.startedAt = Date() } }
        let fresh = (1...3).map { queue.add("new\($0)") }
        try await working(queue, maxActive: 1, checkAhead: 2) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 3 })
            #expect(workers.started == [ran[0], fresh[0], fresh[1]])
        }
    }

    /// A torrent checked ahead whose check ends while a download slot is free takes it: it goes on past its
    /// check, downloading, with no second start.
    @Test func aTorrentCheckedAheadTakesASlotThatFreedMeanwhile() async throws {
        let queue = MemoryQueue()
        let ids = (1...3).map { queue.add("t\($0)") }
        queue.set(TransferSettings.maxSeedsKey, "10")
        try await working(queue, maxActive: 2, checkAhead: 4) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 3 })
            let ahead = try #require(workers.download(ids[2]))
            #expect(ahead.held)
            await workers.download(ids[0])?.complete()
            #expect(try await poll(timeout: .seconds(10)) { queue.state(ids[0]) == .seeding })
            await ahead.finishCheck()
            #expect(try await poll(timeout: .seconds(10)) { queue.state(ids[2]) == .downloading })
            #expect(await ahead.wentOn)
            #expect(await ahead.ended == false)
            #expect(workers.started == ids)
            #expect(queue.events(ids[2], .checked).isEmpty)
        }
    }

    /// `btq remove` then `btq add` of the same torrent between two passes revives its row: the session that
    /// worked the removed torrent stops without recording anything there, and the torrent starts afresh.
    @Test func aTorrentRemovedAndAddedAgainStartsAfresh() async throws {
        let queue = MemoryQueue()
        queue.set(TransferSettings.maxSeedsKey, "0")
        let id = queue.add("t")
        try await working(queue, maxActive: 1) { (workers, lines) async throws in
            #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .downloading })
            let old = try #require(workers.download(id))
            await old.upload(1_000)
            queue.addAgain(id)
            let recorded = queue.contents.withLock { $0.events.count }
            #expect(try await poll(timeout: .seconds(10)) { await old.ended })
            #expect(try await poll(timeout: .seconds(10)) { workers.started == [id, id] })
            #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .downloading })
            #expect(lines.contains("stopped #\(id) t: removed and added again"))
            // The only change to the row since: the new session's start.
            let since = queue.contents.withLock { Array($0.events[recorded...]) }
            #expect(since.map(\.detail) == ["queued -> downloading"])
            #expect(queue.contents.withLock { $0.seeded[id] ?? 0 } == 0)
            #expect(workers.download(id) !== old)
        }
    }

    /// How a session ended is not recorded in a row removed and added again since it started.
    @Test func anEndingIsNotRecordedInARowAddedAgain() throws {
        let queue = MemoryQueue()
        let id = queue.add("t", state: .downloading)
        let started = try #require(queue.record(id))
        queue.addAgain(id)
        let line = try SessionEnding.record(.failed("disk full"), of: started, in: queue, stoppedState: .queued)
        #expect(line == "error #\(id) t: disk full")
        #expect(queue.state(id) == .queued && queue.record(id)?.lastError == nil)
        try SessionEnding.record(.completed, of: started, in: queue, stoppedState: .queued)
        #expect(queue.state(id) == .queued)
        // The same ending for the row as it was is recorded.
        try SessionEnding.record(
            .failed("disk full"), of: try #require(queue.record(id)), in: queue, stoppedState: .queued)
        #expect(queue.state(id) == .error)
    }

    @Test func aRecheckDecidesWhetherATorrentSeedsOrDownloads() async throws {
        let queue = MemoryQueue()
        let whole = queue.add("whole", state: .checking)
        let damaged = queue.add("damaged", state: .checking, complete: true)
        try await working(queue, maxActive: 2) { (workers, lines) async throws in
            #expect(
                try await poll(timeout: .seconds(10)) { workers.check(whole) != nil && workers.check(damaged) != nil })
            // Nothing starts a torrent that is being checked.
            #expect(workers.started.isEmpty)
            workers.check(whole)?.finish(complete: true)
            workers.check(damaged)?.finish(complete: false)
            #expect(try await poll(timeout: .seconds(10)) { queue.state(whole) == .seeding })
            #expect(queue.record(whole)?.completedAt != nil)
            #expect(try await poll(timeout: .seconds(10)) { queue.state(damaged) == .downloading })
            #expect(queue.record(damaged)?.completedAt == nil)
            #expect(lines.contains("checked #\(whole) whole: 64 of 64 pieces valid (1049 MB/s)"))
        }
    }

    @Test func stoppingCancelsARecheckAndReturns() async throws {
        let queue = MemoryQueue()
        let id = queue.add("t", state: .checking)
        var check: StandInCheck?
        try await working(queue) { (workers, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.check(id) != nil })
            check = workers.check(id)
        }
        #expect(check?.cancelled.withLock { $0 } == true)
        #expect(queue.state(id) == .checking)
    }

    // MARK: - Scoped runs (`btq get`)

    /// A scoped manager (as `btq get` runs it), handed to `body` with its run's task.
    private func scoped(
        _ queue: MemoryQueue, _ scope: QueueScope,
        _ body: (StandInWorkers, QueueManager, Task<Void, Never>) async throws -> Void
    ) async throws {
        try await managing(queue, maxActive: nil, scope: scope) { (workers, _, manager, running) async throws in
            try await body(workers, manager, running)
        }
    }

    @Test func aScopedRunWorksItsTorrentsAtOnceAndEndsWhenEachHasEnded() async throws {
        let queue = MemoryQueue()
        let before = queue.add("before")
        let first = queue.add("first")
        let second = queue.add("second")
        let seed = queue.add("seed", complete: true)
        // The daemon's limits do not apply: what the user named runs at once.
        queue.set(QueueManager.maxActiveSetting, "1")
        try await scoped(queue, .only([first, second, seed], seeding: false)) {
            (workers, manager, running) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.started.count == 3 })
            #expect(Set(workers.started) == [first, second, seed])
            #expect(queue.state(before) == .queued)
            // Complete before it started, and not seeding: its download ends at once.
            #expect(try await poll(timeout: .seconds(10)) { queue.state(seed) == .completed })
            await workers.download(first)?.complete()
            #expect(try await poll(timeout: .seconds(10)) { queue.state(first) == .completed })
            await workers.download(second)?.fail("disk full")
            // The run ends by itself once each of its torrents has ended.
            await running.value
            #expect(queue.state(second) == .error)
            let endings = await manager.endings
            guard case .session(.completed, let status)? = endings[first] else {
                Issue.record("first ended as \(String(describing: endings[first]))")
                return
            }
            #expect(status.isComplete)
            guard case .session(.failed("disk full"), _)? = endings[second] else {
                Issue.record("second ended as \(String(describing: endings[second]))")
                return
            }
            #expect(endings[before] == nil)
        }
    }

    @Test func aStoppedScopedRunLeavesItsTorrentsPaused() async throws {
        let queue = MemoryQueue()
        let download = queue.add("download")
        let magnet = queue.add("magnet", magnet: true)
        try await scoped(queue, .only([download, magnet], seeding: false)) { (workers, manager, running) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.download(download) != nil })
            #expect(try await poll(timeout: .seconds(10)) { queue.state(magnet) == .fetchingMetadata })
            await manager.stop()
            await running.value
            // Not queued for a daemon: paused, as the user left them.
            #expect(queue.state(download) == .paused)
            #expect(queue.state(magnet) == .paused)
            let endings = await manager.endings
            guard case .session(.stopped, _)? = endings[download], case .fetchStopped? = endings[magnet] else {
                Issue.record("ended as \(endings)")
                return
            }
        }
    }

    @Test func aScopedRunThatSeedsStopsAtTheSeedLimit() async throws {
        let queue = MemoryQueue()
        queue.set(TransferSettings.seedRatioKey, "1")
        // No seed slots in the daemon's settings: a scoped run that seeds has its own.
        queue.set(TransferSettings.maxSeedsKey, "0")
        let id = queue.add("t")
        try await scoped(queue, .only([id], seeding: true)) { (workers, manager, running) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.download(id) != nil })
            await workers.download(id)?.complete()
            #expect(try await poll(timeout: .seconds(10)) { queue.state(id) == .seeding })
            #expect(await workers.download(id)?.ended == false)
            await workers.download(id)?.upload(1 << 20)
            await running.value
            #expect(queue.state(id) == .completed)
            #expect(queue.events(id, .seedLimit).count == 1)
            guard case .session(.completed, _)? = await manager.endings[id] else {
                Issue.record("ended as \(String(describing: await manager.endings[id]))")
                return
            }
        }
    }

    @Test func aScopedRunOfASeedPastItsLimitChecksItAndEndsComplete() async throws {
        let queue = MemoryQueue()
        queue.set(TransferSettings.seedRatioKey, "1")
        let id = queue.add("done", complete: true, downloaded: 1 << 20, uploaded: 2 << 20)
        try await scoped(queue, .only([id], seeding: true)) { (workers, manager, running) async throws in
            await running.value
            #expect(workers.started == [id])
            #expect(queue.state(id) == .completed)
            guard case .session(.completed, _)? = await manager.endings[id] else {
                Issue.record("ended as \(String(describing: await manager.endings[id]))")
                return
            }
        }
    }

    @Test func aScopedRunAppliesItsPreparationWhenTheMetadataHasArrived() async throws {
        let queue = MemoryQueue()
        let magnet = queue.add("magnet", magnet: true)
        let prepared = Mutex<[Int64: Bool]>([:])
        let scope = QueueScope.only(
            [magnet], seeding: false,
            beforeDownload: { record in prepared.withLock { $0[record.id] = !record.isMagnet } })
        try await scoped(queue, scope) { (workers, _, _) async throws in
            #expect(try await poll(timeout: .seconds(10)) { workers.fetch(magnet) != nil })
            #expect(prepared.withLock { $0.isEmpty })
            await workers.fetch(magnet)?.deliver()
            #expect(try await poll(timeout: .seconds(10)) { workers.download(magnet) != nil })
            #expect(prepared.withLock { $0 } == [magnet: true])
        }
    }

    /// Torrents still downloading or seeding in `queue`.
    private func activeIds(_ queue: MemoryQueue) -> [Int64] {
        queue.contents.withLock { $0.torrents.values.filter { [.downloading, .seeding].contains($0.state) }.map(\.id) }
    }
}

/// The lines the manager reports.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    func contains(_ line: String) -> Bool { lines.withLock { $0.contains(line) } }
}
