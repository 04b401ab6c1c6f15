import Synchronization

/// The frames waiting to be sent to one peer, counted in bytes against a ``PeerMemoryBudget``.
///
/// The session (or metadata fetcher) queues frames with ``send(_:)-([PeerWireFrame])``; the
/// connection's writer task takes everything queued at once with ``next()``, writes it, and reports it
/// with ``written(_:)``. Bytes count from the moment a frame is queued until its write has returned
/// (then the frame is in the socket's own buffer, which NIO bounds by its write watermarks). Each frame
/// costs its wire length plus ``frameOverhead``, about what a queued frame takes in memory besides
/// its bytes, so a flood of tiny frames is bounded as well as a few big ones.
///
/// The reader task of the connection calls ``waitForRoom()`` before it reads on: while the peer's
/// queue is over the budget's limits it does not read (so a peer that makes us answer but never reads
/// the answers stops being read from), and it gives up, dropping the peer, when the queue does not
/// drain in time. ``finish()`` forgets what is queued and gives its bytes back to the budget;
/// ``closeAfterSending()`` takes no more frames but lets the writer send what is queued, then ends it
/// (a graceful close: the last blocks of a seed that stops reach the peer).
final class PeerOutbox: Sendable {
    /// Frames the writer took in one go.
    struct Batch: Sendable {
        let frames: [PeerWireFrame]
        /// What they cost against the budget.
        let bytes: Int
        /// The block bytes of their `piece` messages.
        let pieceBytes: Int
    }

    /// What a queued frame costs besides its wire bytes (the enum, its slot in the queue, a buffer header).
    static let frameOverhead = 64

    private struct State {
        var frames: [PeerWireFrame] = []
        /// Cost of ``frames``.
        var queued = 0
        var queuedPieceBytes = 0
        /// Cost of the batch the writer is writing.
        var inFlight = 0
        var finished = false
        /// No more frames are taken; ``next()`` hands out what is queued, then `nil`.
        var closing = false
        var writer: CheckedContinuation<Batch?, Never>?
        var watchers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWatcher = 0

        mutating func takeBatch() -> Batch {
            let batch = Batch(frames: frames, bytes: queued, pieceBytes: queuedPieceBytes)
            frames = []
            inFlight += queued
            queued = 0
            queuedPieceBytes = 0
            return batch
        }
    }

    /// The budget the queue counts against.
    let budget: PeerMemoryBudget
    private let state = Mutex(State())

    init(budget: PeerMemoryBudget) {
        self.budget = budget
    }

    deinit {
        let held = state.withLock { $0.queued + $0.inFlight }
        budget.charge(-held)
    }

    /// Bytes queued or being written now.
    var queuedBytes: Int { state.withLock { $0.queued + $0.inFlight } }

    /// What a frame costs in the queue.
    static func cost(of frame: PeerWireFrame) -> Int {
        switch frame {
        case .handshake: PeerHandshake.encodedLength + frameOverhead
        case .message(let message): 4 + message.frameLength + frameOverhead
        }
    }

    /// Queues one frame (dropped when the connection is finished).
    func send(_ frame: PeerWireFrame) {
        send(CollectionOfOne(frame))
    }

    /// Queues frames in order (dropped when the connection is finished).
    func send(_ frames: some Collection<PeerWireFrame>) {
        guard !frames.isEmpty else { return }
        var cost = 0
        var pieceBytes = 0
        for frame in frames {
            cost += Self.cost(of: frame)
            if case .message(.piece(_, _, let block)) = frame { pieceBytes += block.readableBytes }
        }
        let (accepted, wake) = state.withLock { state -> (Bool, (CheckedContinuation<Batch?, Never>, Batch)?) in
            guard !state.finished, !state.closing else { return (false, nil) }
            state.frames.append(contentsOf: frames)
            state.queued += cost
            state.queuedPieceBytes += pieceBytes
            guard let writer = state.writer else { return (true, nil) }
            state.writer = nil
            return (true, (writer, state.takeBatch()))
        }
        if accepted { budget.charge(cost) }
        if let (writer, batch) = wake { writer.resume(returning: batch) }
    }

    /// Queues messages in order.
    func send(_ messages: [PeerMessage]) {
        guard !messages.isEmpty else { return }
        send(messages.lazy.map(PeerWireFrame.message))
    }

    /// Queues one message.
    func send(_ message: PeerMessage) {
        send(PeerWireFrame.message(message))
    }

    /// Everything queued, once there is something; `nil` when the queue is finished or the task cancelled.
    func next() async -> Batch? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Batch?, Never>) in
                let ready: Batch?? = state.withLock { state in
                    if !state.frames.isEmpty { return .some(state.takeBatch()) }
                    if state.finished || state.closing || Task.isCancelled { return .some(nil) }
                    state.writer = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let writer = state.withLock { state -> CheckedContinuation<Batch?, Never>? in
                defer { state.writer = nil }
                return state.writer
            }
            writer?.resume(returning: nil)
        }
    }

    /// The writer wrote `batch`: its bytes leave the budget.
    func written(_ batch: Batch) {
        let (counted, watchers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard !state.finished else { return (false, []) }
            state.inFlight -= batch.bytes
            defer { state.watchers = [:] }
            return (true, Array(state.watchers.values))
        }
        if counted { budget.charge(-batch.bytes) }
        for watcher in watchers { watcher.resume() }
    }

    /// Takes no more frames; the writer gets what is queued, then `nil`. Returns false when the queue
    /// had already ended.
    @discardableResult
    func closeAfterSending() -> Bool {
        let writer = state.withLock { state -> CheckedContinuation<Batch?, Never>?? in
            guard !state.finished, !state.closing else { return .none }
            state.closing = true
            defer { state.writer = nil }
            return .some(state.writer)
        }
        guard let writer else { return false }
        writer?.resume(returning: nil)  // waiting means nothing was queued
        return true
    }

    /// True once ``closeAfterSending()`` was called (and the queue was not finished before).
    var isClosingAfterSending: Bool { state.withLock { $0.closing && !$0.finished } }

    /// Ends the queue: frames still queued are dropped, their bytes given back, the writer and any
    /// waiting reader woken. Later frames are ignored.
    func finish() {
        let (released, writer, watchers) = state.withLock {
            state -> (Int, CheckedContinuation<Batch?, Never>?, [CheckedContinuation<Void, Never>]) in
            guard !state.finished else { return (0, nil, []) }
            state.finished = true
            let released = state.queued + state.inFlight
            state.frames = []
            state.queued = 0
            state.queuedPieceBytes = 0
            state.inFlight = 0
            defer {
                state.writer = nil
                state.watchers = [:]
            }
            return (released, state.writer, Array(state.watchers.values))
        }
        budget.charge(-released)
        writer?.resume(returning: nil)
        for watcher in watchers { watcher.resume() }
    }

    /// Returns at once when the peer may be read from (see ``PeerMemoryBudget/allowsReading(queued:)``);
    /// otherwise waits until it may, re-checking as the queue drains and every 100 ms for the rest of
    /// the process.
    ///
    /// - Throws: ``PeerDropped`` when it may still not be read from after the budget's drain timeout;
    ///   `CancellationError` when the task is cancelled.
    func waitForRoom() async throws {
        guard !budget.allowsReading(queued: queuedBytes) else { return }
        let deadline = ContinuousClock.now + budget.drainTimeout
        while !budget.allowsReading(queued: queuedBytes) {
            try Task.checkCancellation()
            if state.withLock({ $0.finished }) { return }
            let now = ContinuousClock.now
            guard now < deadline else {
                throw PeerDropped(
                    reason:
                        "it did not read what we sent: \(queuedBytes) bytes still queued after \(budget.drainTimeout)")
            }
            await changed(within: min(deadline - now, .milliseconds(100)))
        }
    }

    /// Returns when the queue drains by a write, is finished, `timeout` passes or the task is cancelled.
    private func changed(within timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.nextChange() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextChange() async {
        let id = state.withLock { state in
            defer { state.nextWatcher += 1 }
            return state.nextWatcher
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    guard !state.finished, !Task.isCancelled else { return true }
                    state.watchers[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.watchers.removeValue(forKey: id) }?.resume()
        }
    }
}
