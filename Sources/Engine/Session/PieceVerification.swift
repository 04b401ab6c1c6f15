/// A session's pieces on their way to verified: gathered in memory (or written block by block), then
/// hashed and stored, with smart ban watching the ones that failed, and callers waiting for the stores
/// in flight to end (a stop writes nothing more before they have).
struct PieceVerification {
    /// Pieces gathered in memory, their buffers, and the complete ones being stored.
    var assemblies: PieceAssemblies
    /// Pieces written block by block whose hash is being checked from the files.
    private(set) var hashing: Set<PieceIndex> = []
    /// Failed pieces that several peers sent, watched until they pass to tell who lied.
    var smartBan = SmartBan()
    /// Who waits for the stores in flight to end.
    private var storeWaiters: [CheckedContinuation<Void, Never>] = []
    /// The memory for pieces in progress while stores lag.
    let budget: PieceMemoryBudget

    init(layout: PieceLayout, budget: PieceMemoryBudget = PieceMemoryBudget()) {
        assemblies = PieceAssemblies(layout: layout)
        self.budget = budget
    }

    /// The most pieces requests may have in progress now (see ``PieceMemoryBudget``).
    var maxPiecesInProgress: Int {
        budget.maxPiecesInProgress(
            pieceLength: assemblies.layout.pieceLength, storesInFlight: assemblies.storesInFlight)
    }

    /// How many callers wait for the stores to end.
    var waitingForStores: Int { storeWaiters.count }

    /// Starts checking `piece` from the files; false when its check runs already.
    mutating func startHashing(_ piece: PieceIndex) -> Bool {
        hashing.insert(piece).inserted
    }

    /// The check of `piece` ended (its verdict known, or its read failed).
    mutating func hashingEnded(_ piece: PieceIndex) {
        hashing.remove(piece)
    }

    /// Resumes `waiter` once no store is in flight (at once when none is).
    mutating func waitForStores(_ waiter: CheckedContinuation<Void, Never>) {
        guard assemblies.storesInFlight > 0 else {
            waiter.resume()
            return
        }
        storeWaiters.append(waiter)
    }

    /// A store ended: its buffer is kept for the next assembly when `keepSpare` (pieces remain to be
    /// fetched), and who waits for the stores is told when none is left.
    mutating func stored(_ buffer: PieceBuffer, keepSpare: Bool) {
        assemblies.stored(buffer, keepSpare: keepSpare)
        guard assemblies.storesInFlight == 0 else { return }
        for waiter in storeWaiters { waiter.resume() }
        storeWaiters = []
    }
}
