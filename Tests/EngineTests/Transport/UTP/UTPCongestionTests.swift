import Testing

@testable import Engine

/// LEDBAT as a value: grows below the target delay, shrinks above it, bounded growth per round
/// trip, a base delay that cancels the clocks' offset.
@Suite struct UTPCongestionTests {
    /// Feeds one window's worth of acks (in packets) at a given delay; returns the window after.
    static func oneRoundTrip(_ congestion: inout UTPCongestion, delay: UInt32, now: UInt64) {
        let packets = max(1, congestion.window / 1400)
        for _ in 0..<packets {
            congestion.acked(bytes: 1400, delaySample: delay, now: now, windowWasFull: true)
        }
    }

    /// Below the target (clock offset of 3 s included), outside slow start, the window grows by at
    /// most 3,000 bytes per round trip; far above it, it shrinks.
    @Test func growsBelowTargetShrinksAbove() {
        var congestion = UTPCongestion(configuration: .init(), initialRTO: 1_000_000)
        let offset: UInt32 = 3_000_000
        congestion.acked(bytes: 1400, delaySample: offset, now: 0, windowWasFull: true)
        congestion.lost()  // out of slow start
        #expect(!congestion.slowStart)
        var now: UInt64 = 1000
        for _ in 0..<50 {
            let before = congestion.window
            Self.oneRoundTrip(&congestion, delay: offset + 10_000, now: now)
            #expect(congestion.window > before)
            #expect(congestion.window - before <= 3000 + 1400)
            now += 1000
        }
        let grown = congestion.window
        for _ in 0..<20 {
            Self.oneRoundTrip(&congestion, delay: offset + 300_000, now: now)
            now += 1000
        }
        #expect(congestion.window < grown)
        #expect(congestion.window >= 1400)
    }

    /// Slow start doubles the window per round trip until the delay nears the target.
    @Test func slowStartEndsNearTarget() {
        var congestion = UTPCongestion(configuration: .init(), initialRTO: 1_000_000)
        let start = congestion.window
        Self.oneRoundTrip(&congestion, delay: 1000, now: 0)
        #expect(congestion.slowStart)
        #expect(congestion.window >= 2 * start - 1400)
        Self.oneRoundTrip(&congestion, delay: 1000 + 95_000, now: 1)
        #expect(!congestion.slowStart)
    }

    /// An application-limited sender does not grow its window.
    @Test func noGrowthWhenNotWindowLimited() {
        var congestion = UTPCongestion(configuration: .init(), initialRTO: 1_000_000)
        let start = congestion.window
        for _ in 0..<100 { congestion.acked(bytes: 1400, delaySample: 10, now: 0, windowWasFull: false) }
        #expect(congestion.window == start)
    }

    /// The base delay is the least of the last minutes: an old low sample ages out.
    @Test func baseDelayAgesOut() {
        var configuration = UTPConfiguration()
        configuration.baseDelayMinutes = 2
        var congestion = UTPCongestion(configuration: configuration, initialRTO: 1_000_000)
        congestion.acked(bytes: 1, delaySample: 1000, now: 0, windowWasFull: false)
        congestion.acked(bytes: 1, delaySample: 51_000, now: 1, windowWasFull: false)
        #expect(congestion.queueingDelay == 50_000)
        congestion.acked(bytes: 1, delaySample: 51_000, now: 61_000_000, windowWasFull: false)
        congestion.acked(bytes: 1, delaySample: 51_000, now: 122_000_000, windowWasFull: false)
        #expect(congestion.queueingDelay == 0)
    }

    /// Timeouts back the RTO off up to its ceiling and drop the window to one packet.
    @Test func timeoutBackoff() {
        var congestion = UTPCongestion(configuration: .init(), initialRTO: 1_000_000)
        congestion.rttSample(10_000)
        #expect(congestion.rto == 500_000)
        for _ in 0..<20 { congestion.timedOut() }
        #expect(congestion.rto == 60_000_000)
        #expect(congestion.window == 1400)
        congestion.rttSample(10_000)
        #expect(congestion.rto == 500_000)
    }
}
