/// Which of a ``QueueManager``'s passes read the queue, and which seeds a pass looks at.
///
/// A pass that reads the queue (a full pass) costs a read per torrent worked and a look at every session;
/// one runs when the queue changed (its ``QueueStore/queueGeneration()`` moved), when work ended, when the
/// last pass changed something or a pass was asked for, and at the latest every ``fullPassInterval``.
/// Other passes look at every download (completion, stalls) and at the seeds in slices, so that each seed
/// is looked at (its seed limits, its seeding time, data found missing) every ``seedLookPasses`` passes,
/// or, with more than ``seedLookLimit`` seeds in a slice, in slices of that many: an idle daemon's pass
/// costs the same with five thousand seeds as with five hundred (each seed is then looked at less often).
/// Only a pass after the seed limits changed looks at every seed at once.
struct PassRhythm {
    /// The longest time between two full passes. The queue's generation tells of every change the CLI or
    /// the RPC writes, so this is only a net: it is long, for a full pass reads a row per torrent worked.
    static let fullPassInterval: Duration = .seconds(300)
    /// A pass that does not read the queue looks at this fraction (one in so many) of the seeds.
    static let seedLookPasses = 20
    /// The most seeds a pass that does not read the queue looks at.
    static let seedLookLimit = 32

    private var generation: Int64?
    private var fullPassAsked = true
    private var lastFullPass: ContinuousClock.Instant?
    /// Where the next slice of seeds starts.
    private var seedCursor = 0
    /// Torrents whose sessions finished their start check since the last pass.
    private var started: Set<Int64> = []
    /// Sessions started since the heap was last trimmed (``endPass(changed:now:)``).
    private var startsSinceTrim = 0
    /// Sessions started whose start check is not done yet.
    private var checking = 0
    /// When the heap is trimmed once more after a start storm's trim (``trimFollowUp``).
    private var followUpTrimAt: ContinuousClock.Instant?

    /// How long after a start storm's trim the heap is trimmed once more: the work the starts set off goes
    /// on after their checks (first announces, 5,000 of them 50 at a time; peers answering), and what it
    /// allocated and freed stayed resident (26 MiB of a restart of 5,000 whose checks read nothing).
    static let trimFollowUp: Duration = .seconds(60)

    /// After how many sessions started the heap is trimmed, once their start checks are done and a pass
    /// changed nothing (see ``HeapTrim``).
    static let trimAfterStarts = 64

    /// A pass begins with the queue at `generation`; returns whether it is a full pass. `workEnded`: a
    /// session, fetch or check ended and is not settled yet.
    mutating func beginPass(generation: Int64, workEnded: Bool, now: ContinuousClock.Instant = .now) -> Bool {
        let due = lastFullPass.map { now - $0 >= Self.fullPassInterval } ?? true
        let full = fullPassAsked || workEnded || due || generation != self.generation
        self.generation = generation
        fullPassAsked = false
        if full { lastFullPass = now }
        return full
    }

    /// The pass ended; `changed` when it changed something (started or stopped work, recorded a state):
    /// the next pass is a full one. Returns true when the heap is to be trimmed now (``HeapTrim``): at
    /// least ``trimAfterStarts`` sessions started since the last trim, every one of them has done its
    /// start check (see ``lookAtStarted(_:)``), and this pass changed nothing (the start storm is over).
    /// ``trimFollowUp`` after such a trim, a pass that changed nothing trims once more.
    @discardableResult
    mutating func endPass(changed: Bool, now: ContinuousClock.Instant = .now) -> Bool {
        if changed { fullPassAsked = true }
        guard !changed, checking == 0 else { return false }
        if startsSinceTrim >= Self.trimAfterStarts {
            startsSinceTrim = 0
            followUpTrimAt = now + Self.trimFollowUp
            return true
        }
        guard let due = followUpTrimAt, now >= due else { return false }
        followUpTrimAt = nil
        return true
    }

    /// A session starts: it checks what it has (``lookAtStarted(_:)`` follows when it is done).
    mutating func sessionStarting() {
        startsSinceTrim += 1
        checking += 1
    }

    /// The next pass is to be a full one.
    mutating func askForFullPass() { fullPassAsked = true }

    /// The session of torrent `id` finished its start check: the next pass looks at it (a download found
    /// complete frees its slot, a seed found lacking data downloads again), without reading the queue or
    /// looking at every seed. A start storm of N torrents then costs N looks, not N passes over N seeds.
    mutating func lookAtStarted(_ id: Int64) {
        started.insert(id)
        checking = max(0, checking - 1)
    }

    /// The seeds a pass looks at, of `seeds` (in ascending order): the next slice of them
    /// (``seedSlice(of:)``) and those started since the last pass (``lookAtStarted(_:)``), each once.
    mutating func seedsToLook(at seeds: [Int64]) -> [Int64] {
        var looked = seedSlice(of: seeds)
        let sliced = Set(looked)
        looked += started.sorted().filter { !sliced.contains($0) && QueueJobs.contains($0, in: seeds) }
        started = []
        return looked
    }

    /// A pass that looks at every seed: those started since the last pass are among them.
    mutating func lookedAtEverySeed() { started = [] }

    /// How many seeds of `count` a pass looks at: about 1/``seedLookPasses`` of them, at least one and at
    /// most ``seedLookLimit``.
    static func sliceSize(of count: Int) -> Int {
        min(count, Self.seedLookLimit, (count + Self.seedLookPasses - 1) / Self.seedLookPasses)
    }

    /// The passes it takes to look at each of `count` seeds once.
    static func passesPerRound(of count: Int) -> Int {
        count == 0 ? 0 : (count + sliceSize(of: count) - 1) / sliceSize(of: count)
    }

    /// The seeds a pass looks at, of `seeds`: the next slice of them (``sliceSize(of:)``), going round.
    mutating func seedSlice<C: Collection>(of seeds: C) -> [C.Element] {
        guard !seeds.isEmpty else { return [] }
        let count = seeds.count
        let size = Self.sliceSize(of: count)
        if seedCursor >= count { seedCursor = 0 }
        var slice: [C.Element] = []
        slice.reserveCapacity(size)
        var index = seeds.index(seeds.startIndex, offsetBy: seedCursor)
        for _ in 0..<size {
            slice.append(seeds[index])
            seeds.formIndex(after: &index)
            if index == seeds.endIndex { index = seeds.startIndex }
        }
        seedCursor = (seedCursor + size) % count
        return slice
    }
}
