import NIOCore
import Synchronization

/// Gathers the scrapes that the torrents of a process ask of one tracker into multi-hash requests
/// (BEP 48 over HTTP: several `info_hash` in one query; BEP 15 over UDP: up to 74 hashes in a packet),
/// as Transmission does: a daemon seeding a thousand torrents from one tracker scrapes it a few dozen
/// times an interval instead of a thousand.
///
/// - A tracker is its exact announce URL (a passkey in it makes another tracker). The first scrape
///   asked of it opens a batch; the batch goes after ``Configuration/gather``, or at once when it holds
///   as many hashes as one request may carry (the `most` its callers give, or less once learned).
/// - A hash asked twice in one batch goes once, and both callers get its result.
/// - A hash that a multi-hash reply does not mention fails as a single scrape would (opentracker leaves
///   out the torrents it holds no peer of), when the reply mentions at least two hashes: the tracker
///   answers several at once. When it mentions one or none, each hash left out is asked again alone;
///   if the tracker answers one alone, it evidently answers one hash at a time, and its requests carry
///   one hash for ``Configuration/learnedFor`` (an hour; a reply that left torrents out only because
///   their first announce had not landed yet then costs single scrapes for that long, not for ever).
/// - A multi-hash request refused as possibly too large (HTTP 400, 413 or 414: a query too long)
///   fails its scrapes with that error, and halves the most that tracker's requests carry (for
///   ``Configuration/learnedFor``): the scrapes come back at their back-off in smaller batches. Sending
///   the halves at once instead would cost a tracker that refuses every scrape with 400 twice as many
///   requests as single scrapes.
/// - Any other failure fails every scrape of the batch with that error, as it would have failed each.
/// - A scrape cancelled while it waits, for its batch or for the reply, ends at once with
///   `CancellationError`; the others of its batch are not disturbed.
///
/// What it holds is bounded by its callers (a torrent scrapes a tracker once at a time); the most per
/// request it learned is kept for at most ``Configuration/maxLearned`` trackers.
final class ScrapeBatcher: Sendable {
    /// Tunables.
    struct Configuration: Sendable {
        /// How long a batch waits for more scrapes of its tracker before it goes.
        var gather: Duration = .seconds(5)
        /// Most trackers whose most per request is remembered (past it, one is forgotten).
        var maxLearned = 1024
        /// How long a tracker's learned most per request holds before its batches grow again.
        var learnedFor: Duration = .seconds(3600)
    }

    /// Sends one request for `hashes` (distinct, 20 bytes each) to the tracker at `url`, and returns
    /// the results by hash, without the hashes the reply did not mention.
    typealias Send = @Sendable (_ url: String, _ hashes: [[UInt8]]) async throws -> [[UInt8]: ScrapeResult]

    private typealias Continuation = CheckedContinuation<ScrapeResult, any Error>

    /// A scrape asked and not yet answered.
    private enum Entry {
        /// Its caller is about to wait.
        case reserved
        /// Cancelled before its caller waited.
        case cancelled
        /// Waiting, in a batch or for a reply.
        case waiting(hash: [UInt8], continuation: Continuation)
    }

    /// The scrapes of one tracker waiting to go.
    private struct Batch {
        var ids: [UInt64] = []
        /// Which batch of this tracker it is: its timer sends only this one.
        let generation: UInt64
        /// Most hashes per request when it opened.
        let most: Int
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var batches: [String: Batch] = [:]
        /// Most hashes per request learned for a tracker (smaller than what its callers give), until when.
        var learned: [String: (most: Int, until: ContinuousClock.Instant)] = [:]

        /// The most per request learned for `url` and still holding.
        mutating func learnedMost(for url: String, now: ContinuousClock.Instant) -> Int? {
            guard let entry = learned[url] else { return nil }
            guard entry.until > now else {
                learned[url] = nil
                return nil
            }
            return entry.most
        }

        mutating func take(_ id: UInt64) -> (hash: [UInt8], continuation: Continuation)? {
            guard case .waiting(let hash, let continuation)? = entries[id] else { return nil }
            entries[id] = nil
            return (hash, continuation)
        }
    }

    let configuration: Configuration
    private let eventLoop: any EventLoop
    private let send: Send
    private let state = Mutex(State())

    /// A batcher whose batches wait on `eventLoop`'s timers and go through `send`.
    init(eventLoop: any EventLoop, configuration: Configuration = .init(), send: @escaping Send) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.send = send
    }

    /// Scrapes `infoHash` from the tracker at `url` in a batch of at most `most` hashes.
    ///
    /// - Throws: the ``TrackerError`` of its request (a reply that does not mention it:
    ///   ``TrackerError/malformed(_:)``), or `CancellationError`.
    func scrape(url: String, infoHash: [UInt8], most: Int) async throws -> ScrapeResult {
        precondition(most >= 1, "a request carries a hash")
        let id = state.withLock { state in
            state.nextID += 1
            state.entries[state.nextID] = .reserved
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Continuation) in
                enqueue(id, url: url, hash: infoHash, most: most, continuation: continuation)
            }
        } onCancel: {
            let waiter = state.withLock { state -> Continuation? in
                switch state.entries[id] {
                case .reserved?:
                    state.entries[id] = .cancelled
                    return nil
                case .waiting(_, let continuation)?:
                    state.entries[id] = nil
                    if var batch = state.batches[url], let index = batch.ids.firstIndex(of: id) {
                        batch.ids.remove(at: index)
                        state.batches[url] = batch.ids.isEmpty ? nil : batch
                    }
                    return continuation
                case .cancelled?, nil:
                    return nil
                }
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// What a new scrape leaves to do.
    private enum Step {
        case none
        case cancelled
        /// The batch opened: arm its timer.
        case arm(generation: UInt64)
        /// The batch is full: send it, in these requests.
        case send([[UInt64]])
    }

    private func enqueue(_ id: UInt64, url: String, hash: [UInt8], most: Int, continuation: Continuation) {
        let step = state.withLock { state -> Step in
            if case .cancelled? = state.entries[id] {
                state.entries[id] = nil
                return .cancelled
            }
            state.entries[id] = .waiting(hash: hash, continuation: continuation)
            let limit = min(most, state.learnedMost(for: url, now: .now) ?? most)
            var batch = state.batches[url] ?? Batch(generation: id, most: limit)
            batch.ids.append(id)
            // What was learned since the batch opened holds for it too: it goes in requests that small.
            let most = min(batch.most, limit)
            if batch.ids.count >= most {
                state.batches[url] = nil
                return .send(
                    stride(from: 0, to: batch.ids.count, by: most).map {
                        Array(batch.ids[$0..<min($0 + most, batch.ids.count)])
                    })
            }
            state.batches[url] = batch
            return batch.ids.count == 1 ? .arm(generation: batch.generation) : .none
        }
        switch step {
        case .none: break
        case .cancelled: continuation.resume(throwing: CancellationError())
        case .arm(let generation):
            eventLoop.scheduleTask(in: TimeAmount(configuration.gather)) { [self] in
                flush(url, generation: generation)
            }
        case .send(let requests): for ids in requests { launch(url, ids) }
        }
    }

    /// The gathering time of `url`'s batch `generation` is over: it goes, if it has not gone yet.
    private func flush(_ url: String, generation: UInt64) {
        let ids = state.withLock { state -> [UInt64]? in
            guard let batch = state.batches[url], batch.generation == generation else { return nil }
            state.batches[url] = nil
            return batch.ids
        }
        if let ids { launch(url, ids) }
    }

    private func launch(_ url: String, _ ids: [UInt64]) {
        Task { await perform(url, ids) }
    }

    /// Sends one request for the scrapes `ids` (those still waiting), and answers them.
    private func perform(_ url: String, _ ids: [UInt64]) async {
        let asked = state.withLock { state in
            ids.compactMap { id -> (UInt64, [UInt8])? in
                guard case .waiting(let hash, _)? = state.entries[id] else { return nil }
                return (id, hash)
            }
        }
        var hashes: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        for (_, hash) in asked where seen.insert(hash).inserted { hashes.append(hash) }
        guard !hashes.isEmpty else { return }
        let results: [[UInt8]: ScrapeResult]
        do {
            results = try await send(url, hashes)
        } catch let error as TrackerError where hashes.count > 1 && error.isRequestTooLarge {
            // The tracker refused the query (too long, or several hashes): smaller requests from now on.
            learn(url, most: max(1, hashes.count / 2))
            finish(asked.map(\.0)) { _ in .failure(error) }
            return
        } catch {
            finish(asked.map(\.0)) { _ in .failure(error) }
            return
        }
        // Several mentioned: the tracker answers several at once, and left out those it does not know.
        let retry = hashes.count > 1 && results.count <= 1
        var missing: [[UInt8]: [UInt64]] = [:]
        finish(asked.map(\.0)) { hash in
            if let result = results[hash] { return .success(result) }
            if !retry { return .failure(TrackerError.notInScrapeReply) }
            return nil
        }
        guard retry else { return }
        for (id, hash) in asked where results[hash] == nil { missing[hash, default: []].append(id) }
        for (hash, ids) in missing {
            Task { await retryAlone(url, hash: hash, ids: ids) }
        }
    }

    /// Asks `hash`, which a multi-hash reply mentioning one hash or none did not mention, alone; if the
    /// tracker answers it, it answers one hash at a time.
    private func retryAlone(_ url: String, hash: [UInt8], ids: [UInt64]) async {
        let outcome: Result<ScrapeResult, any Error>
        do {
            if let result = try await send(url, [hash])[hash] {
                learn(url, most: 1)
                outcome = .success(result)
            } else {
                outcome = .failure(TrackerError.notInScrapeReply)
            }
        } catch {
            outcome = .failure(error)
        }
        finish(ids) { _ in outcome }
    }

    /// Answers those of `ids` still waiting with what `answer` gives for their hash (`nil`: they wait on).
    private func finish(_ ids: [UInt64], _ answer: ([UInt8]) -> Result<ScrapeResult, any Error>?) {
        let answered = state.withLock { state in
            ids.compactMap { id -> (Continuation, Result<ScrapeResult, any Error>)? in
                guard case .waiting(let hash, _)? = state.entries[id], let result = answer(hash),
                    let taken = state.take(id)
                else { return nil }
                return (taken.continuation, result)
            }
        }
        for (continuation, result) in answered { continuation.resume(with: result) }
    }

    /// `url`'s requests carry at most `most` hashes from now on.
    private func learn(_ url: String, most: Int) {
        let now = ContinuousClock.now
        state.withLock { state in
            let current = state.learnedMost(for: url, now: now)
            if current == nil, state.learned.count >= configuration.maxLearned {
                state.learned.remove(at: state.learned.startIndex)
            }
            state.learned[url] = (min(most, current ?? most), now + configuration.learnedFor)
        }
    }

    /// Scrapes asked and not yet answered.
    var waitingCount: Int { state.withLock { $0.entries.count } }

    /// The most hashes per request learned for `url` and still holding, if any.
    func learnedMost(for url: String) -> Int? { state.withLock { $0.learnedMost(for: url, now: .now) } }
}
