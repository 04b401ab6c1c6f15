import Testing

@testable import Engine

/// Early wakes of a session's loop: queued one at a time, only while a loop runs.
@Suite struct LoopWakerTests {
    /// What the stream delivers once it finished.
    func drain(_ wakes: AsyncStream<LoopWake>) async -> [LoopWake] {
        var delivered: [LoopWake] = []
        for await wake in wakes { delivered.append(wake) }
        return delivered
    }

    @Test func wakesBeforeTheLoopTakesOneAreOne() async {
        var waker = LoopWaker()
        let (wakes, ticks) = waker.start()
        #expect(waker.isRunning)
        waker.wake()
        waker.wake()
        ticks.yield(.tick)
        waker.wake()
        waker.end()
        #expect(!waker.isRunning)
        #expect(await drain(wakes) == [.event, .tick])
    }

    @Test func aWakeTakenMakesRoomForTheNext() async {
        var waker = LoopWaker()
        let (wakes, ticks) = waker.start()
        var iterator = wakes.makeAsyncIterator()
        waker.wake()
        let first = await iterator.next()
        #expect(first == .event)
        // A tick taken leaves the early wake queued.
        ticks.yield(.tick)
        waker.took(.tick)
        waker.wake()
        let second = await iterator.next()
        #expect(second == .tick)
        waker.took(first!)
        waker.wake()
        waker.end()
        let third = await iterator.next()
        let end = await iterator.next()
        #expect(third == .event && end == nil)
    }

    @Test func noLoopNoWake() async {
        var waker = LoopWaker()
        waker.wake()
        #expect(!waker.isRunning)
        let (wakes, _) = waker.start()
        waker.end()
        waker.wake()
        #expect(await drain(wakes).isEmpty)
    }
}
