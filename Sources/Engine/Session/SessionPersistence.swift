/// What a session keeps to save its progress (DESIGN.md, persistence invariants 1 to 4): where it goes,
/// how far what earlier runs recorded is trusted, the journal of what is unsaved and what the store has,
/// the journal's interval counter, the writer its saves run on, and whose turn it is to save.
struct SessionPersistence {
    /// Where progress goes (and comes from); `nil` keeps nothing.
    let store: (any ResumeStore)?
    /// The torrent's id in ``store``.
    let torrentId: Int64?
    /// What earlier runs left behind, and so what the recorded progress is worth.
    let policy: ResumePolicy
    /// Where the journal's writes run, off the session's actor.
    let writer: ResumeWriter
    /// What is unsaved, what the resume store has, the batch on its way and the last durable checkpoint.
    var journal: ProgressJournal
    /// The journal's interval counter (blocks remember the interval they arrived in).
    private(set) var epoch = 0
    /// One save of the journal at a time (see ``JournalHost/beginJournalTurn()``).
    var turn = JournalTurn()

    init(
        store: (any ResumeStore)?, torrentId: Int64?, pieceCount: Int, policy: ResumePolicy, writer: ResumeWriter
    ) {
        self.store = store
        self.torrentId = torrentId
        self.policy = policy
        self.writer = writer
        journal = ProgressJournal(pieceCount: pieceCount)
    }

    /// True when progress is kept: there is a store and the torrent's id in it.
    var keepsProgress: Bool { store != nil && torrentId != nil }

    /// Puts a peer's record (its counters, a ban) in the journal, to go with the next batch: a peer that
    /// leaves after its handshake, or that was banned. False when nothing was recorded (nothing keeps
    /// progress, or the peer never got past its handshake).
    mutating func record(_ slot: PeerSlot, banned: Bool?) -> Bool {
        guard keepsProgress, slot.handshaken || banned != nil else { return false }
        journal.record(slot.record(torrentId: torrentId ?? 0, banned: banned))
        return true
    }

    /// A journal interval begins; returns its number.
    mutating func nextEpoch() -> Int {
        epoch += 1
        return epoch
    }
}

/// Saves of the journal, one at a time: a caller that finds one running waits its turn (in order), so
/// a batch is taken only once the previous one's outcome is known.
struct JournalTurn {
    /// A save holds the turn.
    private(set) var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// How many callers wait for the turn.
    var waiting: Int { waiters.count }

    /// Takes the turn when it is free; false when another save holds it (then ``wait(_:)``).
    mutating func take() -> Bool {
        guard !busy else { return false }
        busy = true
        return true
    }

    /// Queues `waiter` for the turn: it is resumed holding it.
    mutating func wait(_ waiter: CheckedContinuation<Void, Never>) {
        waiters.append(waiter)
    }

    /// Hands the turn to the first waiter, or frees it when none waits.
    mutating func handOver() {
        guard !waiters.isEmpty else {
            busy = false
            return
        }
        waiters.removeFirst().resume()
    }
}
