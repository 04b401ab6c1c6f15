/// Runs the announces of one torrent: performs what its ``AnnounceStateMachine`` plans over a
/// ``TrackerTransport`` and reports peers and tracker states on ``events``.
///
/// How a torrent session drives it:
/// ```swift
/// let announcer = TrackerAnnouncer(tiers: metainfo.announceTiers, identity: identity, transport: client,
///                                  filter: TrackerPeerFilter(ownAddresses: [listenAddress], ownPeerId: peerId)) {
///     await session.announceTotals()        // uploaded, downloaded, left at this moment
/// }
/// let loop = Task { await announcer.run() }  // returns after stop()
/// let scrapes = Task { await announcer.runScrapes() }  // likewise
/// for await event in announcer.events {      // ends after stop()
///     switch event {
///     case .peers(let peers, _): swarm.add(peers)
///     case .status(let status): store.update(TrackerUpdate(status, torrentId: id))
///     }
/// }
/// await announcer.downloadCompleted()       // once, when the last piece verified
/// await announcer.stop()                    // best-effort `stopped`, bounded by `stopTimeout`
/// ```
/// The peers are already filtered (own addresses and peer id, duplicates) by the ``TrackerPeerFilter``.
///
/// ``runScrapes()`` scrapes the trackers as its ``ScrapeSchedule`` plans, beside the announces (a slow
/// scrape never holds an announce back); each result lands in the tracker's status and is reported as
/// a `.status` event. A failed scrape keeps its error in the status and changes nothing else. An
/// announce answered without all of a scrape's counts (a UDP announce has no completed downloads) is
/// followed by a scrape; one that carried them all is not.
public actor TrackerAnnouncer {
    /// What identifies the torrent and us in every announce.
    public struct Identity: Sendable, Hashable {
        /// The 20-byte info-hash announced (a v2 torrent's truncated SHA-256).
        public var infoHash: [UInt8]
        /// Our 20-byte peer id.
        public var peerId: [UInt8]
        /// Our TCP listen port.
        public var port: UInt16

        /// Creates an identity.
        public init(infoHash: [UInt8], peerId: [UInt8], port: UInt16) {
            precondition(infoHash.count == 20 && peerId.count == 20, "info-hash and peer id are 20 bytes")
            self.infoHash = infoHash
            self.peerId = peerId
            self.port = port
        }
    }

    /// The byte counts an announce reports, read just before it is sent.
    public struct Totals: Sendable, Hashable {
        /// Payload bytes uploaded this session.
        public var uploaded: Int64
        /// Payload bytes downloaded this session.
        public var downloaded: Int64
        /// Bytes still missing.
        public var left: Int64

        /// Creates totals.
        public init(uploaded: Int64, downloaded: Int64, left: Int64) {
            self.uploaded = uploaded
            self.downloaded = downloaded
            self.left = left
        }
    }

    /// What the announcer reports.
    public enum Event: Sendable, Hashable {
        /// New peers from the tracker at the URL (filtered, never empty).
        case peers([PeerAddress], from: String)
        /// A tracker's state changed (after each of its announces).
        case status(TrackerStatus)
    }

    /// Peers and tracker states, until ``stop()`` finishes. Buffers the newest 256 events.
    public nonisolated let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private var machine: AnnounceStateMachine
    private let identity: Identity
    private let transport: any TrackerTransport
    private let filter: TrackerPeerFilter
    private let stopTimeout: Duration
    private let clock: @Sendable () -> Timestamp
    private let totals: @Sendable () async -> Totals
    private var scrapes: ScrapeSchedule
    private var alarms: [Alarm: (waiter: CheckedContinuation<Void, Never>?, timer: Task<Void, Never>?)] = [:]
    private var announcing: Task<AnnounceResponse, any Error>?
    private var scraping: Task<[(String, Result<ScrapeResult, TrackerError>?)], Never>?
    private var isRunning = false
    private var isScraping = false
    /// The announces and the scrapes as jobs of a ``Scheduler``, once ``schedule(on:handle:)`` made them.
    private var jobs: [Alarm: ScheduledJob] = [:]
    /// Where events go instead of ``events``, once ``schedule(on:handle:)`` was called.
    private var handler: (@Sendable (Event) async -> Void)?

    /// What a loop sleeps on: the announce loop and the scrape loop wake separately.
    private enum Alarm: Hashable {
        case announce
        case scrape
    }

    /// An announcer over `machine`. `totals` is asked before each announce; `clock` gives the time
    /// (tests inject one); `stopTimeout` bounds the `stopped` announces; `scrapeConfiguration` paces
    /// the scrapes of the trackers that have a scrape URL.
    public init(
        machine: AnnounceStateMachine, identity: Identity, transport: any TrackerTransport,
        filter: TrackerPeerFilter = .init(), stopTimeout: Duration = .seconds(5),
        scrapeConfiguration: ScrapeSchedule.Configuration = .init(),
        clock: @escaping @Sendable () -> Timestamp = { .now }, totals: @escaping @Sendable () async -> Totals
    ) {
        self.machine = machine
        self.scrapes = ScrapeSchedule(
            urls: machine.order, now: clock(), configuration: scrapeConfiguration, key: machine.key)
        self.identity = identity
        self.transport = transport
        self.filter = filter
        self.stopTimeout = stopTimeout
        self.clock = clock
        self.totals = totals
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// An announcer over the torrent's tiers (shuffled here, BEP 12) with a random session key.
    public init(
        tiers: [[String]], identity: Identity, transport: any TrackerTransport, filter: TrackerPeerFilter = .init(),
        configuration: AnnounceStateMachine.Configuration = .spread, stopTimeout: Duration = .seconds(5),
        totals: @escaping @Sendable () async -> Totals
    ) {
        self.init(
            machine: AnnounceStateMachine(
                tiers: TrackerTiers(tiers), key: .random(in: .min ... .max), configuration: configuration),
            identity: identity, transport: transport, filter: filter, stopTimeout: stopTimeout,
            scrapeConfiguration: .spread, totals: totals)
    }

    /// Every tracker's state, in order of preference.
    public var statuses: [TrackerStatus] { machine.statuses }

    /// Announces whenever the state machine says so, until ``stop()`` or until the calling task is
    /// cancelled (which sends no `stopped`). A second concurrent call returns at once.
    public func run() async {
        guard !isRunning else { return }
        isRunning = true
        defer { isRunning = false }
        while !machine.isStopped, !Task.isCancelled {
            if case .sleep(let due, let now) = await announceTurn() { await sleep(.announce, until: due, now: now) }
        }
    }

    /// Scrapes whenever the ``ScrapeSchedule`` says so (the trackers due at once concurrently), until
    /// ``stop()`` or until the calling task is cancelled. A second concurrent call returns at once.
    public func runScrapes() async {
        guard !isScraping else { return }
        isScraping = true
        defer { isScraping = false }
        while !machine.isStopped, !Task.isCancelled {
            if case .sleep(let due, let now) = await scrapeTurn() { await sleep(.scrape, until: due, now: now) }
        }
    }

    /// When the next scrape of a tracker is due (`nil`: none, or each one is on its way).
    func nextScrapeDue() -> Timestamp? { scrapes.nextDue(now: clock()) }

    /// Announces and scrapes as two jobs of `scheduler` rather than in ``run()`` and ``runScrapes()``: between
    /// two announces (and two scrapes) the announcer holds no task. Events go to `handle`, in order, rather
    /// than to ``events``. Both jobs end with ``stop()``.
    package func schedule(on scheduler: Scheduler, handle: @escaping @Sendable (Event) async -> Void) {
        guard jobs.isEmpty, !machine.isStopped else { return }
        handler = handle
        jobs[.announce] = scheduler.add(at: .now) { [self] in await step(.announce) }
        jobs[.scrape] = scheduler.add(at: .now) { [self] in await step(.scrape) }
    }

    /// What a turn of a loop leaves to do.
    private enum Turn {
        /// Look again at once.
        case again
        /// Sleep until `due` (until woken, when `nil`); `now` is when the turn looked.
        case sleep(until: Timestamp?, now: Timestamp)
    }

    /// One turn of `alarm`'s loop as a job of the ``Scheduler``.
    private func step(_ alarm: Alarm) async -> Scheduler.Next {
        guard !machine.isStopped else { return .done }
        let turn = alarm == .announce ? await announceTurn() : await scrapeTurn()
        switch turn {
        case .again: return .at(.now)
        case .sleep(let due, let now):
            return .rest(until: due.map { .now + .milliseconds(max(0, $0.rawValue - now.rawValue)) })
        }
    }

    /// Performs the announce that is due, or says when the next one is.
    private func announceTurn() async -> Turn {
        let now = clock()
        guard let job = machine.plan(now: now).first else {
            return .sleep(until: machine.nextAnnounceDue(now: now), now: now)
        }
        await perform(job)
        return .again
    }

    /// Scrapes the trackers that are due, or says when the next one is.
    private func scrapeTurn() async -> Turn {
        let now = clock()
        let urls = scrapes.due(now: now)
        guard !urls.isEmpty else { return .sleep(until: scrapes.nextDue(now: now), now: now) }
        let (transport, infoHash) = (transport, identity.infoHash)
        let task = Task { await Self.scrape(urls, infoHash: infoHash, over: transport) }
        scraping = task
        let results = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        scraping = nil
        let done = clock()
        var events: [Event] = []
        for (url, result) in results {
            guard let result, !machine.isStopped else {
                scrapes.abandon(url)
                continue
            }
            scrapes.record(result, for: url, now: done)
            machine.recordScrape(result, for: url, now: done)
            if let status = machine.status(of: url) { events.append(.status(status)) }
        }
        await emit(events)
        return .again
    }

    /// Hands `events` to the handler given to ``schedule(on:handle:)``, or else to ``events``.
    private func emit(_ events: [Event]) async {
        guard let handler else {
            for event in events { continuation.yield(event) }
            return
        }
        for event in events { await handler(event) }
    }

    /// The download completed: announces `completed` at once (once per session).
    public func downloadCompleted() {
        machine.downloadCompleted(now: clock())
        wake(.announce)
    }

    /// Asks for more peers: announces as soon as the tracker's `min interval` allows.
    public func reannounce() {
        machine.reannounce(now: clock())
        wake(.announce)
    }

    /// Stops: abandons an announce on its way, sends `stopped` to every tracker that knows us
    /// (concurrently, giving up after `stopTimeout`), ends ``run()`` and finishes ``events``.
    public func stop() async {
        let jobs = machine.stop(now: clock())
        announcing?.cancel()
        scraping?.cancel()
        wake(.announce)
        wake(.scrape)
        let scheduled = self.jobs.values
        self.jobs = [:]
        for job in scheduled { await job.end() }
        if !jobs.isEmpty {
            let totals = await totals()
            var events: [Event] = []
            for (job, result) in await Self.send(
                jobs, identity: identity, totals: totals, over: transport, within: stopTimeout)
            {
                machine.record(result, for: job, now: clock())
                if let status = machine.status(of: job.url) { events.append(.status(status)) }
            }
            await emit(events)
        }
        continuation.finish()
    }

    private func perform(_ job: AnnounceJob) async {
        let totals = await totals()
        let request = job.request(
            infoHash: identity.infoHash, peerId: identity.peerId, port: identity.port, uploaded: totals.uploaded,
            downloaded: totals.downloaded, left: totals.left)
        let transport = transport
        let task = Task { try await transport.announce(url: job.url, request: request) }
        announcing = task
        let outcome = await withTaskCancellationHandler {
            await task.result
        } onCancel: {
            task.cancel()
        }
        announcing = nil
        let result: Result<AnnounceResponse, TrackerError>
        switch outcome {
        case .success(let response): result = .success(response)
        case .failure(let error as TrackerError): result = .failure(error)
        case .failure(let error):
            if task.isCancelled || error is CancellationError {
                machine.abandon(job)
                return
            }
            result = .failure(.connection("\(error)"))
        }
        machine.record(result, for: job, now: clock())
        var events: [Event] = []
        if case .success(let response) = result {
            let peers = filter.peers(of: response)
            if !peers.isEmpty { events.append(.peers(peers, from: job.url)) }
            // An answer that carried every count leaves nothing for a scrape to tell until its interval.
            if !response.carriesScrapeCounts {
                scrapes.announced(job.url, now: clock())
                wake(.scrape)
            }
        }
        if let status = machine.status(of: job.url) { events.append(.status(status)) }
        await emit(events)
    }

    /// Sends `jobs` concurrently; those unanswered after `timeout` are cancelled and left out.
    private static func send(
        _ jobs: [AnnounceJob], identity: Identity, totals: Totals, over transport: any TrackerTransport,
        within timeout: Duration
    ) async -> [(AnnounceJob, Result<AnnounceResponse, TrackerError>)] {
        await withTaskGroup(of: (AnnounceJob, Result<AnnounceResponse, TrackerError>)?.self) { group in
            for job in jobs {
                let request = job.request(
                    infoHash: identity.infoHash, peerId: identity.peerId, port: identity.port,
                    uploaded: totals.uploaded, downloaded: totals.downloaded, left: totals.left)
                group.addTask {
                    do {
                        return (job, .success(try await transport.announce(url: job.url, request: request)))
                    } catch let error as TrackerError {
                        return (job, .failure(error))
                    } catch is CancellationError {
                        return nil
                    } catch {
                        return (job, .failure(.connection("\(error)")))
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            var results: [(AnnounceJob, Result<AnnounceResponse, TrackerError>)] = []
            var pending = jobs.count
            while pending > 0, let item = await group.next() {
                guard let item else { break }
                results.append(item)
                pending -= 1
            }
            group.cancelAll()
            return results
        }
    }

    /// Scrapes `urls` concurrently; a scrape cancelled on its way gives `nil`.
    private static func scrape(
        _ urls: [String], infoHash: [UInt8], over transport: any TrackerTransport
    ) async -> [(String, Result<ScrapeResult, TrackerError>?)] {
        await withTaskGroup(of: (String, Result<ScrapeResult, TrackerError>?).self) { group in
            for url in urls {
                group.addTask {
                    do {
                        return (url, .success(try await transport.scrape(url: url, infoHash: infoHash)))
                    } catch let error as TrackerError {
                        return (url, .failure(error))
                    } catch {
                        return (
                            url,
                            Task.isCancelled || error is CancellationError ? nil : .failure(.connection("\(error)"))
                        )
                    }
                }
            }
            var results: [(String, Result<ScrapeResult, TrackerError>?)] = []
            for await item in group { results.append(item) }
            return results
        }
    }

    /// Waits on `alarm` until `due` (forever when `nil`) or until ``wake(_:)``.
    private func sleep(_ alarm: Alarm, until due: Timestamp?, now: Timestamp) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                guard !Task.isCancelled, !machine.isStopped else { return continuation.resume() }
                var timer: Task<Void, Never>?
                if let due {
                    let delay = Duration.milliseconds(max(0, due.rawValue - now.rawValue))
                    timer = Task { [weak self] in
                        do { try await Task.sleep(for: delay) } catch { return }
                        await self?.wake(alarm)
                    }
                }
                alarms[alarm] = (continuation, timer)
            }
        } onCancel: {
            Task { [weak self] in await self?.wake(alarm) }
        }
    }

    private func wake(_ alarm: Alarm) {
        jobs[alarm]?.poke()
        guard let (waiter, timer) = alarms.removeValue(forKey: alarm) else { return }
        timer?.cancel()
        waiter?.resume()
    }
}
