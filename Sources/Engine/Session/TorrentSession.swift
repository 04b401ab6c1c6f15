import Logging
import NIOCore
import NIOPosix

/// Downloads one torrent: owns its piece picker, its peers and its storage, and decides everything
/// about them on one serial context (this actor). Sockets live in SwiftNIO; a dialled peer's connection
/// is a task of the run while it lasts (see ``start(onEnd:)``), an accepted one the listener's.
package actor TorrentSession {
    /// How a run ended.
    package enum Outcome: Sendable, Equatable {
        /// Every wanted piece is verified.
        case completed
        /// ``stop()`` was called.
        case stopped
        /// A fault that stops the torrent (disk full, unwritable folder, ...).
        case failed(String)
    }

    let metainfo: Metainfo
    let storage: any PieceStorage
    /// The session's settings, kept once, in its core (a copy of their 464 bytes is 2.3 MiB with 5,000
    /// torrents).
    var configuration: SessionConfiguration { core.configuration }
    let group: any EventLoopGroup
    let logger: Logger
    /// How to reach the torrent's trackers, the announcer that works them, the completion announced.
    var trackers: SessionTrackers
    /// The swarm, the pieces on their way, the uploads and the extension protocol, with every decision
    /// about them (see ``SessionCore``); this actor carries out what needs a task or the disk.
    var core: SessionCore
    /// Whether the run ends when complete, a stop asked for, the fault that ends the run, connections
    /// closing, and what wakes the run's loop between ticks (see ``wakeLoop()``).
    var lifecycle: SessionLifecycle
    /// Where progress goes, how far earlier runs' is trusted, the journal, its writer and its turns.
    var persistence: SessionPersistence
    /// The check at start of what is already done: whether it ran, what it found, who waits for it.
    var startCheck = StartCheck()
    /// Where a session started ahead of its download slot waits after its start check (see
    /// ``SessionConfiguration/holdsAfterStartCheck``).
    var startHold = StartHold()
    /// How the run ends and the tasks it started (see ``start(onEnd:)``).
    var drive = SessionDrive()
    /// Rate limits, global and this torrent's.
    let limits: TransferLimits
    /// Hashes pieces (and writes the verified ones) off the actor.
    let hashing: PieceHashing
    /// Small assembled pieces waiting to be hashed and written in batches.
    var storeBatches = PieceStoreBatches()
    /// Recently read pieces, for serving requests.
    let readCache: PieceReadCache
    /// The run's ticks and its journal's looks, as jobs of the process-wide scheduler that rest while the
    /// torrent is idle (see ``SessionCore/tickNeed(now:interval:)``).
    nonisolated let rests: SessionRests
    /// The torrent's pieces and blocks.
    var layout: PieceLayout { core.layout }
    /// The info-hash peers name in their handshake for this torrent (the metainfo's).
    nonisolated var infoHash: [UInt8] { metainfo.infoHashes.wireHash }

    /// How long peers have to close their side of a connection at a stop before it is closed.
    static let closeGrace: Duration = .seconds(2)

    /// Creates a session for `metainfo` whose data lives in `storage`.
    ///
    /// - Parameters:
    ///   - resume: where progress goes (and comes from); `nil` keeps nothing.
    ///   - torrentId: the torrent's id in `resume`.
    ///   - filePriorities: one per file (0 skips it); empty means every file at normal priority.
    ///   - order: the order new pieces are started in.
    ///   - stopWhenComplete: end ``run()`` once every wanted piece is verified.
    ///   - trackers: how to reach the torrent's trackers; `nil` uses none (peers come from ``addPeers(_:source:)``).
    ///   - resumePolicy: how earlier runs ended, which decides how far the recorded progress is trusted.
    ///   - limits: the upload and download rate limits it obeys.
    ///   - resumeWriter: the thread that writes to `resume` (one per process: ``ResumeWriter/shared``).
    ///   - scheduler: where its ticks, journal looks, announces and scrapes wait (one per process:
    ///     ``Scheduler/shared``).
    package init(
        metainfo: Metainfo, storage: any PieceStorage, configuration: SessionConfiguration = SessionConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, resume: (any ResumeStore)? = nil,
        torrentId: Int64? = nil, filePriorities: [PiecePriority] = [], order: DownloadOrder = .rarest,
        stopWhenComplete: Bool = true,
        trackers: (any TrackerTransport)? = nil, resumePolicy: ResumePolicy = .cleanHistory,
        limits: TransferLimits = TransferLimits(), resumeWriter: ResumeWriter = .shared,
        scheduler: Scheduler = .shared, logger: Logger = Logger(label: "btq.session")
    ) {
        self.rests = SessionRests(scheduler: scheduler)
        self.trackers = SessionTrackers(transport: trackers)
        self.persistence = SessionPersistence(
            store: resume, torrentId: torrentId, pieceCount: storage.layout.pieceCount, policy: resumePolicy,
            writer: resumeWriter)
        self.limits = limits
        self.readCache = PieceReadCache(storage: storage)
        // A v2 torrent without the piece layers it needs was refused before it got here (the queue's
        // `workableContent`); a hybrid missing some falls back to its SHA-1 hashes.
        self.hashing = PieceHashing(
            storage: storage, pieceHashes: metainfo.pieceHashes, merkle: (try? V2PieceRoots(metainfo: metainfo)) ?? nil)
        self.metainfo = metainfo
        self.storage = storage
        self.group = group
        self.logger = logger
        self.lifecycle = SessionLifecycle(stopWhenComplete: stopWhenComplete)
        self.core = SessionCore(
            metainfo: metainfo, layout: storage.layout, filePriorities: filePriorities, order: order,
            configuration: configuration, limits: limits, logger: logger)
    }

    /// Changes the order new pieces are started in (the CLI changed it while the torrent runs).
    package func setDownloadOrder(_ order: DownloadOrder) {
        core.setDownloadOrder(order)
        wakeLoop()
    }

    /// Changes the files' priorities (one per file, 0 skips it; empty means all normal) while the
    /// torrent runs. A download that this leaves complete ends as any that completes.
    package func setFilePriorities(_ filePriorities: [PiecePriority]) {
        core.setFilePriorities(filePriorities, metainfo: metainfo)
        wakeLoop()
    }

    /// Addresses to dial (from trackers, `--peer`, PEX...). Our own address and banned peers are skipped.
    package func addPeers(_ addresses: [PeerAddress], source: PeerUpdate.Source) {
        if core.addPeers(addresses, source: source, now: .now) { wakeLoop() }
    }

    /// Ends ``run()`` soon: peers are closed and progress is saved.
    package func stop() {
        lifecycle.requestStop()
        startHold.decide(.stop)
        closePeersGracefully()
        wakeLoop()
    }

    /// Half-closes every connection: what is queued for a peer goes out, then our FIN, and nothing more
    /// is sent or answered; each connection ends when the peer closes its side (see ``run()``). A
    /// connection closed at once drops its queue, and one with unread bytes from the peer is reset,
    /// which throws away what the peer had not received yet: the last pieces of a seed that stops at
    /// its ratio, counted as uploaded.
    private func closePeersGracefully() {
        guard lifecycle.startClosingPeers() else { return }
        core.swarm.peers.closeConnectionsAfterSending()
    }

    /// Waits until every peer closed its side after ``closePeersGracefully()``, or `grace` has passed.
    private func waitForPeersToLeave(within grace: Duration) async {
        let deadline = ContinuousClock.now + grace
        while !core.swarm.peers.isEmpty, ContinuousClock.now < deadline {
            guard (try? await Task.sleep(for: .milliseconds(20))) != nil else { return }
        }
    }

    /// Returns once ``run()`` has checked what is already done (``TorrentStatus/isStarting`` is false) and
    /// is working, or has ended.
    package func started() async {
        await withCheckedContinuation { startCheck.wait($0) }
    }

    /// Lets a session held after its start check (``SessionConfiguration/holdsAfterStartCheck``) go on:
    /// it announces, dials and accepts peers from now on. Nothing once it was stopped.
    package func goOn() {
        startHold.decide(.goOn)
    }

    /// Returns true once the session works past its start check (at once when it is not held there), false
    /// when it was stopped first.
    package func worksPastStartCheck() async -> Bool {
        guard configuration.holdsAfterStartCheck else { return true }
        // A cancelled waiter (its task group ends) stops the session rather than waiting on.
        return await withTaskCancellationHandler {
            await withCheckedContinuation { startHold.wait($0) } == .goOn
        } onCancel: {
            Task { await self.stop() }
        }
    }

    /// Bytes of existing data read back to check it when the session started.
    package var bytesReadAtStart: Int64 { startCheck.bytesRead }

    /// Has ``run()``'s loop act now rather than at its next tick: new peers are dialled at once, and a
    /// finished download or a stop ends the run without waiting out the tick interval.
    func wakeLoop() {
        rests.poke()
        lifecycle.waker.wake()
    }

    /// Stops the torrent for a fault (disk full, unwritable folder...): the first reason is kept, and
    /// peers are closed at once so nothing more is downloaded that could not be stored.
    func fail(_ reason: String) {
        guard lifecycle.fail(reason) else { return }
        logger.error("\(reason)")
        core.swarm.peers.closeConnections()
        wakeLoop()
    }

    /// Addresses banned for sending data that failed its hash check.
    package func bannedAddresses() -> [PeerAddress] { core.bannedAddresses }

    /// A snapshot for progress displays.
    package func status() -> TorrentStatus {
        core.status(failure: lifecycle.failure, startCheck: startCheck, now: .now)
    }

    /// Prepares the files, finds what is already there, then downloads until complete (when
    /// `stopWhenComplete`), stopped or failed: ``start(onEnd:)``, waited for. Cancelling the caller's
    /// task stops the session as ``stop()`` does.
    package func run() async -> Outcome {
        await RunEnding.waitForRun(start: { await self.start(onEnd: $0) }, stop: { await self.stop() })
    }

    /// Prepares the files and finds what is already there in the caller's task, then works the torrent
    /// until complete (when `stopWhenComplete`), stopped or failed, and hands `onEnd` how it ended. Returns
    /// once the work is under way (or over).
    ///
    /// The work holds no task of its own: the run's loop steps when something wakes it (new peers, a stop,
    /// a fault, the download complete: ``wakeLoop()``) and at its ticks, a ``Scheduler`` job like its journal
    /// looks, announces and scrapes. Dials and web seeds are tasks of their own while they last, cancelled
    /// and waited for at the end. An idle seed is then a few objects and its scheduled jobs: no task, no
    /// stack of suspended frames (a heap profile of 1,000 idle seeds found 7 KiB a torrent in the task that
    /// used to wait in the loop).
    package func start(onEnd: @escaping TorrentSession.Ending) async {
        if let outcome = await begin() {
            await onEnd(outcome)
            return
        }
        drive.ending = onEnd
        drive.dialTurns = configuration.dialPace.map { [rests] in
            DialTurns(pace: $0, member: self, boost: configuration.dialBoost) { rests.ticks?.poke() }
        }
        let tickInterval = configuration.tickInterval
        rests.start(
            ticks: { [self] in await tickStep(every: tickInterval) }, every: tickInterval,
            journal: journalJob(), every: configuration.journalInterval)
        await trackers.announcer?.schedule(on: rests.scheduler) { [self] in await trackerEvent($0) }
        // No suspension from here to the first step: wakes before it are caught up with by that step.
        lifecycle.waker.start { [self] in
            Task { await self.loopStep(.event) }
        }
        startWebSeeds()
        tick()
        startCheck.releaseWaiters()
        advance()
    }

    /// The start check, and the start of the work: an outcome when the run ends before working.
    private func begin() async -> Outcome? {
        if case .failure(let error) = await restoreInChild() {
            return await finish(.failed("\(error)"))
        }
        if configuration.holdsAfterStartCheck {
            // Checked ahead of its slot: whoever waits for the check hears now, and the queue decides.
            startCheck.releaseWaiters()
            guard await worksPastStartCheck(), lifecycle.isRunning else {
                return await finish(core.swarm.picker.isComplete ? .completed : .stopped)
            }
        }
        if core.swarm.picker.isComplete, lifecycle.stopWhenComplete {
            return await finish(.completed)
        }
        core.uploads.acceptingIncoming = true
        trackers.start(
            tiers: metainfo.trackerTiers, infoHash: infoHash, peerId: configuration.peerId,
            port: configuration.listenPort, completeAlready: core.swarm.picker.isComplete
        ) { await self.announceTotals() }
        core.swarm.statistics.downloadStarted(at: .now)
        return nil
    }

    /// One step of the run's loop, for `wake`: the periodic work when it is a tick that is due, then
    /// ``advance()``. Nothing once the loop ended.
    func loopStep(_ wake: LoopWake) {
        guard lifecycle.waker.isRunning else { return }
        if lifecycle.waker.took(wake, now: .now, interval: configuration.tickInterval) { tick() }
        advance()
    }

    /// Ends the loop when the run is over; else announces the completion once and dials the addresses due.
    private func advance() {
        guard lifecycle.isRunning, !(lifecycle.stopWhenComplete && core.swarm.picker.isComplete) else {
            endLoop()
            return
        }
        if let announcer = trackers.completionToAnnounce(isComplete: core.swarm.picker.isComplete) {
            drive.completion = Task { await announcer.downloadCompleted() }
        }
        for address in addressesToDial() {
            startChild { [self] in await dial(address) }
        }
    }

    /// The addresses due that the run dials now: within its limits and, past its first attempts to new
    /// addresses, as the process's ``DialPace`` allows (see ``DialTurns``). What the pace holds back waits
    /// its turn, which wakes the run; meanwhile the run looks for no address to dial.
    private func addressesToDial() -> [PeerAddress] {
        guard drive.dialTurns?.mayDial ?? true else { return [] }
        let due = core.addressesToDial(now: .now)
        return drive.dialTurns?.admit(due, from: &core.swarm.candidates) ?? due
    }

    /// Starts `work` as a task of the run: cancelled and waited for when the run ends.
    func startChild(_ work: @escaping @Sendable () async -> Void) {
        let id = drive.nextChildID()
        drive.children[id] = Task { [self] in
            await work()
            childEnded(id)
        }
    }

    private func childEnded(_ id: UInt64) {
        drive.children[id] = nil
    }

    /// The loop ends (once): its end runs in a task of its own.
    private func endLoop() {
        guard lifecycle.waker.isRunning else { return }
        lifecycle.waker.end()
        Task { await self.endRun() }
    }

    /// Peers leave (given ``closeGrace`` to close their side after a stop), the trackers hear of the end,
    /// the scheduled jobs and the run's tasks end, progress is saved; then the run's `onEnd` hears how it
    /// ended.
    private func endRun() async {
        core.uploads.acceptingIncoming = false
        if lifecycle.failure == nil {
            closePeersGracefully()
            await waitForPeersToLeave(within: Self.closeGrace)
        }
        core.swarm.peers.closeConnections()
        await drive.completion?.value
        await trackers.completionToAnnounce(isComplete: core.swarm.picker.isComplete)?.downloadCompleted()
        await trackers.announcer?.stop()
        await rests.end()
        drive.dialTurns?.leave()
        let children = drive.takeChildren()
        for child in children { child.cancel() }
        for child in children { await child.value }
        let outcome: Outcome
        if let failure = lifecycle.failure {
            outcome = await finish(.failed(failure))
        } else {
            outcome = await finish(core.swarm.picker.isComplete ? .completed : .stopped)
        }
        await drive.takeEnding()?(outcome)
    }

    /// Restores progress in a child task that is gone when this returns: the deep frames of restoring, and
    /// the slabs the task allocator took for them, go with it. (An `async let` child lives, slabs and all,
    /// until the scope that made it ends: ``run()``'s, the session's whole life; a heap profile of 5,000 idle
    /// seeds found 7 KiB a torrent held that way.)
    /// The check takes its turn among the process's start checks (``SessionConfiguration/startChecks``).
    private func restoreInChild() async -> Result<Void, any Error> {
        await withTaskGroup(of: Result<Void, any Error>.self) { group in
            group.addTask { await self.runRestoreInTurn() }
            return await group.next() ?? .success(())
        }
    }

    private func runRestoreInTurn() async -> Result<Void, any Error> {
        guard let gate = configuration.startChecks else { return await runRestore() }
        return await gate.withTurn { await runRestore() }
    }

    /// Restores progress (see ``restoreProgress()``), as a result for ``run()``'s child task.
    private func runRestore() async -> Result<Void, any Error> {
        do {
            try await restoreProgress()
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Writes out every block still in memory, journals it, syncs the files and commits a durable
    /// checkpoint: a clean stop leaves nothing to redo (a failed sync makes it a failure).
    private func finish(_ outcome: Outcome) async -> Outcome {
        startCheck.releaseWaiters()
        await waitForStores()
        let journal = journalRunner
        await journal.journal(for: self, everything: true)
        await journal.checkpoint(for: self)
        logger.info("\(journalReport())")
        // The caller records the outcome as a state change (with its event) in the queue. A sync that failed
        // at the end turns any outcome into that failure: nothing since the last checkpoint is durable.
        if persistence.journal.durabilityLost, let failure = lifecycle.failure, outcome != .failed(failure) {
            return .failed(failure)
        }
        return outcome
    }
}
