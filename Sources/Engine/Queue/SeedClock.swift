import Foundation

/// Time spent seeding in this run, saved to the database now and then (every ``saveInterval``, and when
/// the session ends).
struct SeedClock {
    /// How long seeding time waits to be saved at most while the session runs: each save is a row written
    /// per seed, so thousands of idle seeds would otherwise keep the database busy; a crash loses at most
    /// this much of it.
    static let saveInterval: Duration = .seconds(600)

    private var since: ContinuousClock.Instant?
    private var unsaved: Double = 0
    private var lastSave = ContinuousClock.now

    /// Seeding starts now.
    mutating func start() {
        since = .now
        lastSave = .now
    }

    /// Counts the time since the last call; true when it is time to save it.
    mutating func tick() -> Bool {
        guard let since else { return false }
        let now = ContinuousClock.now
        let elapsed = now - since
        unsaved += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        self.since = now
        return now - lastSave > Self.saveInterval
    }

    /// Whole seconds not saved yet.
    var pending: Int64 { Int64(unsaved) }

    /// Takes the whole seconds to save (the fraction stays for next time).
    mutating func takeUnsaved() -> Int64 {
        _ = tick()
        let whole = Int64(unsaved)
        unsaved -= Double(whole)
        lastSave = .now
        return whole
    }
}
