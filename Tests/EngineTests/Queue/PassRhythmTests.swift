import Testing

@testable import Engine

/// Which passes read the queue, and the slices of seeds the others look at.
struct PassRhythmTests {
    @Test func aPassReadsTheQueueFirstThenOnlyWhenSomethingChanged() {
        var rhythm = PassRhythm()
        let start = ContinuousClock.now
        /// One pass at `seconds` after the start: whether it read the queue.
        func pass(_ generation: Int64, at seconds: Int, workEnded: Bool = false, changed: Bool = false) -> Bool {
            let full = rhythm.beginPass(generation: generation, workEnded: workEnded, now: start + .seconds(seconds))
            rhythm.endPass(changed: changed)
            return full
        }
        #expect(pass(7, at: 0), "the first pass reads the queue")
        #expect(!pass(7, at: 1))
        #expect(pass(8, at: 2), "the queue changed")
        #expect(pass(8, at: 3, workEnded: true, changed: true), "work ended")
        #expect(pass(8, at: 4), "the last pass changed something")
        rhythm.askForFullPass()
        #expect(pass(8, at: 5), "asked for")
        #expect(!pass(8, at: 6))
        #expect(!pass(8, at: 5 + Int(PassRhythm.fullPassInterval.components.seconds) - 1))
        #expect(
            pass(8, at: 5 + Int(PassRhythm.fullPassInterval.components.seconds)), "at the latest after the interval")
    }

    /// A seed whose session just started is looked at by the next pass beside the slice, once, and a pass
    /// over every seed uses the request up.
    @Test func startedSeedsAreLookedAtOnceByTheNextPass() {
        var rhythm = PassRhythm()
        let seeds = Array(Int64(0)..<Int64(100))
        rhythm.lookAtStarted(97)
        rhythm.lookAtStarted(42)
        let first = rhythm.seedsToLook(at: seeds)
        #expect(first.count == 5 + 2 && Set(first).count == first.count)
        #expect(Set(first).isSuperset(of: [42, 97]))
        #expect(Set(rhythm.seedsToLook(at: seeds)).isDisjoint(with: [42, 97]), "looked at once")
        rhythm.lookAtStarted(50)
        rhythm.lookedAtEverySeed()
        #expect(!rhythm.seedsToLook(at: seeds).contains(50), "a full look took it")
        rhythm.lookAtStarted(17)  // the next slice is 15 to 19
        #expect(rhythm.seedsToLook(at: seeds).filter { $0 == 17 }.count == 1, "in the slice and started: once")
    }

    /// The heap is trimmed once a start storm is over: enough sessions started, each has done its start
    /// check, and a pass changed nothing; once more ``PassRhythm/trimFollowUp`` later; then not again until
    /// as many more have started.
    @Test func theHeapIsTrimmedOnceAfterAStartStorm() {
        var rhythm = PassRhythm()
        let count = PassRhythm.trimAfterStarts
        for _ in 0..<count { rhythm.sessionStarting() }
        for id in 0..<Int64(count - 1) { rhythm.lookAtStarted(id) }
        let checking = rhythm.endPass(changed: false)
        #expect(!checking, "one start check is not done")
        rhythm.lookAtStarted(Int64(count))
        let changed = rhythm.endPass(changed: true)
        #expect(!changed, "the pass changed something")
        let start = ContinuousClock.now
        let over = rhythm.endPass(changed: false, now: start)
        #expect(over)
        let again = rhythm.endPass(changed: false, now: start + .seconds(1))
        #expect(!again, "once")
        rhythm.sessionStarting()
        rhythm.lookAtStarted(1)
        let single = rhythm.endPass(changed: false, now: start + .seconds(2))
        #expect(!single, "one start is no storm")
        // Once more when what the starts set off is over, then no more.
        let busy = rhythm.endPass(changed: true, now: start + PassRhythm.trimFollowUp)
        #expect(!busy, "a pass that changed something")
        let followUp = rhythm.endPass(changed: false, now: start + PassRhythm.trimFollowUp)
        #expect(followUp)
        let done = rhythm.endPass(changed: false, now: start + PassRhythm.trimFollowUp * 3)
        #expect(!done)
    }

    /// Each seed is looked at once in a round; a round is ``PassRhythm/seedLookPasses`` passes until the
    /// slices reach ``PassRhythm/seedLookLimit`` seeds, and longer beyond (a pass costs the same however many
    /// seeds there are).
    @Test func slicesLookAtEverySeedOnceInARound() {
        for count in [1, 7, 20, 21, 640, 641, 1_000, 5_001] {
            var rhythm = PassRhythm()
            let seeds = Array(0..<count)
            var looked: [Int: Int] = [:]
            let passes = PassRhythm.passesPerRound(of: count)
            #expect(passes <= max(PassRhythm.seedLookPasses, count / PassRhythm.seedLookLimit + 1))
            #expect(count > PassRhythm.seedLookPasses * PassRhythm.seedLookLimit || passes <= PassRhythm.seedLookPasses)
            for _ in 0..<passes {
                let slice = rhythm.seedSlice(of: seeds)
                #expect(slice.count <= (count + PassRhythm.seedLookPasses - 1) / PassRhythm.seedLookPasses)
                #expect(slice.count <= PassRhythm.seedLookLimit)
                for seed in slice { looked[seed, default: 0] += 1 }
            }
            #expect(Set(looked.keys) == Set(seeds), "\(count) seeds: every one looked at in a round")
        }
        var rhythm = PassRhythm()
        #expect(rhythm.seedSlice(of: [Int]()).isEmpty)
    }
}
