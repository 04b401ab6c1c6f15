import Testing

@testable import Engine

/// A session's transfer counters: lifetime totals, rates over the last seconds, and the time since data
/// last came, all against instants the test gives (no sleeps).
@Suite struct TransferStatisticsTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    @Test func countsBytesEachWayOnTopOfTheRestoredTotals() {
        var statistics = TransferStatistics(start: start)
        statistics.restore(TransferTotals(downloaded: 1_000, uploaded: 2_000, wasted: 30))
        statistics.downloaded(16_384, at: at(10))
        statistics.uploaded(16_384, at: at(20))
        statistics.wasted(16_384)
        #expect(statistics.totals == TransferTotals(downloaded: 17_384, uploaded: 18_384, wasted: 16_414))
    }

    @Test func theRateIsTheBytesOfTheLastSecondsOverTheirSpan() {
        var statistics = TransferStatistics(start: start)
        #expect(statistics.downloadRate(at: at(0)) == 0)
        statistics.downloaded(1_000, at: at(0))
        statistics.downloaded(1_000, at: at(1_000))
        statistics.downloaded(2_000, at: at(2_000))
        // 4,000 bytes over the 2 s since the first.
        #expect(statistics.downloadRate(at: at(2_000)) == 2_000)
        // 3.5 s on the first is out of the window: 3,000 bytes over the 2.5 s since the second.
        #expect(statistics.downloadRate(at: at(3_500)) == 1_200)
        // Long after, nothing is left.
        #expect(statistics.downloadRate(at: at(10_000)) == 0)
        // Uploads have a rate of their own.
        #expect(statistics.uploadRate(at: at(10_000)) == 0)
    }

    @Test func aFirstBlockAloneCountsOverHalfASecond() {
        var statistics = TransferStatistics(start: start)
        statistics.uploaded(1_000, at: at(100))
        #expect(statistics.uploadRate(at: at(100)) == 2_000)
        #expect(statistics.uploadRate(at: at(300)) == 2_000)
        #expect(statistics.uploadRate(at: at(1_100)) == 1_000)
        #expect(statistics.downloadRate(at: at(1_100)) == 0)
    }

    @Test func theWindowStaysSmallWhenNobodyAsksForTheRate() {
        var window = TransferStatistics.RateWindow()
        // Ten seconds of a block every 50 microseconds (about 300 MiB/s), the rate never asked for.
        for tick in 0..<200_000 { window.add(16_384, at: start + .microseconds(tick * 50)) }
        #expect(window.storedSamples <= 64)
        // The last 3 s: 60,000 blocks (give or take a bucket) over 3 s.
        let rate = window.rate(at: start + .seconds(10))
        let expected: Double = 60_000 * 16_384 / 3
        #expect(abs(rate - expected) < 0.05 * expected)
        #expect(window.storedSamples <= 31)
    }

    /// A peer list's snapshot of a rate (a peer's window) gives what the rate gives, and drops nothing.
    @Test func aPeekedRateIsTheRateAndKeepsTheWindow() {
        var window = TransferStatistics.RateWindow()
        for step in 0..<40 { window.add(10_000, at: at(step * 100)) }
        let stored = window.storedSamples
        let peeked = window.peekRate(at: at(5_000))
        #expect(window.storedSamples == stored, "peeking drops no sample")
        #expect(peeked == window.rate(at: at(5_000)))
        #expect(peeked > 0 && peeked < 40 * 10_000)
        #expect(window.peekRate(at: at(60_000)) == 0, "nothing in the last seconds")
    }

    @Test func idleTimeCountsFromTheLastBlockReceived() {
        var statistics = TransferStatistics(start: start)
        #expect(statistics.idleTime(at: at(5_000)) == .seconds(5))
        statistics.downloadStarted(at: at(4_000))
        #expect(statistics.idleTime(at: at(5_000)) == .seconds(1))
        statistics.downloaded(16_384, at: at(6_000))
        // Sending data is not receiving it: a stalled download stays stalled while it seeds.
        statistics.uploaded(16_384, at: at(9_000))
        #expect(statistics.idleTime(at: at(10_000)) == .seconds(4))
        #expect(statistics.age(at: at(10_000)) == .seconds(10))
    }
}
