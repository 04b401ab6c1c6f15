import Testing

@testable import Engine

/// The end of a session's run: a stop, the first fault (later ones do not replace it), and the one
/// start of closing its connections.
@Suite struct SessionLifecycleTests {
    @Test func aStopEndsTheRun() {
        var lifecycle = SessionLifecycle()
        #expect(lifecycle.isRunning && !lifecycle.stopRequested && lifecycle.failure == nil)
        lifecycle.requestStop()
        #expect(!lifecycle.isRunning && lifecycle.stopRequested && lifecycle.failure == nil)
    }

    @Test func theFirstFaultIsKept() {
        var lifecycle = SessionLifecycle()
        let first = lifecycle.fail("disk full")
        let second = lifecycle.fail("cannot read piece 3")
        #expect(first && !second)
        #expect(lifecycle.failure == "disk full" && !lifecycle.isRunning && !lifecycle.stopRequested)
    }

    @Test func connectionsStartClosingOnce() {
        var lifecycle = SessionLifecycle()
        #expect(!lifecycle.closingPeers)
        let first = lifecycle.startClosingPeers()
        let again = lifecycle.startClosingPeers()
        #expect(first && !again && lifecycle.closingPeers)
        // Closing is not a stop by itself.
        #expect(lifecycle.isRunning)
    }
}
