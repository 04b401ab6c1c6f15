import Testing

@testable import Engine

/// The heap of a scheduler's deadlines: earliest first, one deadline per job, cancels and reschedules
/// that leave no trace, and a bounded number taken at a time.
@Suite struct DeadlineQueueTests {
    static let start = ContinuousClock.now

    static func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    @Test func jobsComeDueEarliestFirstAndOnlyOnceDue() {
        var queue = DeadlineQueue()
        for (job, second) in [(0, 5), (1, 2), (2, 9), (3, 1), (4, 7)] { queue.schedule(job, at: Self.at(second)) }
        #expect(queue.earliest() == Self.at(1))
        #expect(queue.takeDue(now: Self.at(0), limit: 10).isEmpty)
        #expect(queue.takeDue(now: Self.at(5), limit: 10) == [3, 1, 0])
        #expect(queue.count == 2)
        #expect(queue.takeDue(now: Self.at(100), limit: 10) == [4, 2])
        #expect(queue.earliest() == nil)
    }

    @Test func aCancelledJobNeverComesDue() {
        var queue = DeadlineQueue()
        queue.schedule(0, at: Self.at(1))
        queue.schedule(1, at: Self.at(2))
        queue.cancel(0)
        #expect(queue.deadline(of: 0) == nil)
        #expect(queue.earliest() == Self.at(2))
        #expect(queue.takeDue(now: Self.at(10), limit: 10) == [1])
    }

    @Test func aNewDeadlineReplacesTheOldOneEarlierOrLater() {
        var queue = DeadlineQueue()
        queue.schedule(0, at: Self.at(5))
        queue.schedule(1, at: Self.at(3))
        queue.schedule(0, at: Self.at(1))
        queue.schedule(1, at: Self.at(8))
        #expect(queue.takeDue(now: Self.at(5), limit: 10) == [0])
        #expect(queue.takeDue(now: Self.at(7), limit: 10).isEmpty)
        #expect(queue.takeDue(now: Self.at(8), limit: 10) == [1])
    }

    @Test(arguments: [1, 7, 64])
    func noMoreThanTheLimitIsTakenAtOnce(limit: Int) {
        var queue = DeadlineQueue()
        for job in 0..<100 { queue.schedule(job, at: Self.at(job % 10)) }
        var taken: [Int] = []
        while true {
            let due = queue.takeDue(now: Self.at(10), limit: limit)
            #expect(due.count <= limit)
            if due.isEmpty { break }
            taken += due
        }
        #expect(taken.count == 100 && Set(taken).count == 100)
        // Earliest first: the deadline (job % 10) never goes down along the order taken.
        #expect(zip(taken, taken.dropFirst()).allSatisfy { $0 % 10 <= $1 % 10 })
    }

    /// Many jobs rescheduled over and over: the heap keeps within about twice the jobs it holds, and
    /// every job comes due once, at its last deadline.
    @Test func manyReschedulesKeepTheHeapBounded() {
        var queue = DeadlineQueue()
        let jobs = 5_000
        for round in 0..<20 {
            for job in 0..<jobs { queue.schedule(job, at: Self.at(round * 100 + job % 50)) }
            #expect(queue.storedEntries <= 2 * jobs + 16)
        }
        #expect(queue.count == jobs)
        #expect(queue.takeDue(now: Self.at(1_899), limit: .max).isEmpty)
        #expect(queue.takeDue(now: Self.at(1_900), limit: .max).count == jobs / 50)
        #expect(queue.takeDue(now: Self.at(2_000), limit: .max).count == jobs - jobs / 50)
    }
}
