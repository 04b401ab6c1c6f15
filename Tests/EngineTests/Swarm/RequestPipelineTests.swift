import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5)))
struct RequestPipelineTests {
    @Test(arguments: [
        (0.0, 4),
        (10_000.0, 4),
        (100_000.0, 19),
        (1_000_000.0, 184),
        (50_000_000.0, 250),
        (Double.infinity, 250),
    ])
    func depthFollowsTheRate(bytesPerSecond: Double, depth: Int) {
        #expect(RequestPipeline.depth(bytesPerSecond: bytesPerSecond, queueTime: 3, in: 4...250) == depth)
    }

    @Test func slowStartGrowsByOneRequestPerBlockUntilTheFirstTick() {
        var pipeline = RequestPipeline(minimum: 16, maximum: 40)
        #expect(pipeline.targetDepth == 16)
        for _ in 0..<16 { pipeline.record(bytes: 16_384) }
        #expect(pipeline.targetDepth == 32, "doubled after one round of 16 blocks")
        for _ in 0..<16 { pipeline.record(bytes: 16_384) }
        #expect(pipeline.targetDepth == 40, "capped at the maximum")
        pipeline.tick(elapsed: .seconds(10))
        #expect(pipeline.bytesPerSecond == 32 * 16_384 / 10.0)
        #expect(pipeline.targetDepth == 16, "the measured rate decides from the first tick on: \(pipeline.targetDepth)")
    }

    @Test func ratesAreSmoothedAcrossTicks() {
        var pipeline = RequestPipeline()
        #expect(pipeline.targetDepth == 4)
        pipeline.record(bytes: 500_000)
        pipeline.record(bytes: 500_000)
        pipeline.tick(elapsed: .seconds(1))
        #expect(pipeline.bytesPerSecond == 1_000_000)
        #expect(pipeline.targetDepth == 184)
        #expect(pipeline.room(outstanding: 180) == 4)
        #expect(pipeline.room(outstanding: 200) == 0)
        pipeline.tick(elapsed: .milliseconds(500))
        #expect(pipeline.bytesPerSecond == 700_000)
        pipeline.tick(elapsed: .zero)
        #expect(pipeline.bytesPerSecond == 700_000)
    }
}
