/// Small assembled pieces waiting to be hashed and written, taken in batches (see
/// ``PieceHashing/store(_:)``).
///
/// With 16 KiB pieces a 1 GiB download completes 65,536 pieces; one job, one task and two hand-overs
/// each cost more than hashing and writing the piece, and each piece written alone goes through the
/// page cache. Here a piece shorter than ``batchedBelow`` waits until ``batchBytes`` wait (or, when
/// flushed, until no batch runs): the batch then holds whole extents the picker started together
/// (``PiecePicker/extentBytes``), written in runs of contiguous bytes. A batch is
/// flushed when no other piece is being gathered, at every tick of the session, and before a stop
/// waits for the stores, so a piece waits at most a tick. Waiting pieces count as stores in flight
/// (``PieceAssemblies/storesInFlight``), so the memory budget and a stop's wait for the stores see
/// them.
struct PieceStoreBatches {
    /// A complete piece to store: its buffer, and whether smart ban watches it.
    typealias Store = (piece: PieceIndex, buffer: PieceBuffer, watched: Bool)

    /// Pieces at least this long are stored one job each (hashing and writing one is worth its own job).
    static let batchedBelow = 256 << 10
    /// The bytes waiting that start a batch (a second one beside a running one, too).
    static let batchBytes = 1 << 20
    /// The most bytes one batch takes.
    static let maxBytes = 2 << 20
    /// The most batch jobs at once.
    static let maxJobs = 2

    /// Pieces waiting for a job.
    private(set) var waiting: [Store] = []
    /// Their bytes.
    private(set) var waitingBytes = 0
    /// Batch jobs running.
    private(set) var running = 0
    /// Set once a stop waits for the stores: from then on every piece goes at once.
    var draining = false

    /// Whether a piece of `length` bytes is stored in a batch.
    static func batches(_ length: Int) -> Bool { length < batchedBelow }

    /// A complete piece waits for a job.
    mutating func add(_ store: Store) {
        waiting.append(store)
        waitingBytes += store.buffer.count
    }

    /// The next batch to start, in piece order, counted as running; `nil` when none should start now.
    /// With `flush`, whatever waits goes when no batch runs.
    mutating func next(flush: Bool) -> [Store]? {
        guard !waiting.isEmpty, running < Self.maxJobs,
            waitingBytes >= Self.batchBytes || ((flush || draining) && running == 0)
        else { return nil }
        waiting.sort { $0.piece < $1.piece }
        var count = 0
        var bytes = 0
        while count < waiting.count && (count == 0 || bytes + waiting[count].buffer.count <= Self.maxBytes) {
            bytes += waiting[count].buffer.count
            count += 1
        }
        let batch = Array(waiting[0..<count])
        waiting.removeFirst(count)
        waitingBytes -= bytes
        running += 1
        return batch
    }

    /// A batch job ended.
    mutating func ended() {
        precondition(running > 0, "a batch ended that never started")
        running -= 1
    }
}
