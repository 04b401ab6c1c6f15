import Testing

@testable import Engine

/// When the latest progress is distrusted after a power loss, and what a failed sync takes back
/// (DESIGN.md, persistence invariant 3).
@Suite(.timeLimit(.minutes(5))) struct ResumePolicyTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var checkpointAt: Int64?
        var recordedAt: Int64?
        var stop: (boot: String?, startedAt: Int64, lastSeenAt: Int64)?
        var distrusted: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        // The heartbeat after the checkpoint says nothing: nothing was recorded after it.
        Case(
            name: "heartbeat after, nothing recorded after", checkpointAt: 10_000, recordedAt: 9_000,
            stop: ("old", 1_000, 60_000), distrusted: false),
        // Recorded after the checkpoint, then the power went before the next heartbeat.
        Case(
            name: "recorded after, heartbeat before", checkpointAt: 10_000, recordedAt: 12_000,
            stop: ("old", 1_000, 9_500), distrusted: true),
        Case(
            name: "recorded at the checkpoint's time", checkpointAt: 10_000, recordedAt: 10_000,
            stop: ("old", 1_000, 10_000), distrusted: true),
        Case(
            name: "never checkpointed", checkpointAt: nil, recordedAt: 5_000, stop: ("old", 1_000, 2_000),
            distrusted: true),
        Case(
            name: "nothing recorded", checkpointAt: nil, recordedAt: nil, stop: ("old", 1_000, 2_000), distrusted: false
        ),
        Case(
            name: "same boot (a process crash)", checkpointAt: 10_000, recordedAt: 12_000,
            stop: ("this", 1_000, 13_000), distrusted: false),
        Case(
            name: "unknown boot", checkpointAt: 10_000, recordedAt: 12_000, stop: (nil, 1_000, 13_000),
            distrusted: false),
        Case(
            name: "the crashed run started long after the record", checkpointAt: 10_000, recordedAt: 12_000,
            stop: ("old", 100_000, 200_000), distrusted: false),
        Case(name: "clean history", checkpointAt: 10_000, recordedAt: 12_000, stop: nil, distrusted: false),
    ])
    func distrust(_ c: Case) {
        let stops = c.stop.map {
            [
                ResumePolicy.UncleanStop(
                    bootId: $0.boot, startedAt: Timestamp(rawValue: $0.startedAt),
                    lastSeenAt: Timestamp(rawValue: $0.lastSeenAt))
            ]
        }
        let policy = ResumePolicy(bootId: "this", uncleanStops: stops ?? [])
        let distrusted = policy.distrustsLatestProgress(
            checkpointAt: c.checkpointAt.map(Timestamp.init(rawValue:)),
            recordedAt: c.recordedAt.map(Timestamp.init(rawValue:)))
        #expect(distrusted == c.distrusted)
    }

    @Test func aRollbackTakesBackWhatTheCheckpointDoesNotVouchFor() {
        let layout = PieceLayout(pieceLength: 65_536, totalLength: 5 * 65_536)
        let checkpoint = DurableCheckpoint(
            torrentId: 1, verified: Bitfield(pattern: "10000")!,
            blockMasks: [PieceIndex(2): Bitfield(pattern: "1000")!, PieceIndex(3): Bitfield(pattern: "1100")!])
        // Since: piece 2 verified, piece 3 got a block more, piece 4 got its first.
        let latest = Bitfield(pattern: "10100")!
        let masks = [PieceIndex(3): Bitfield(pattern: "1110")!, PieceIndex(4): Bitfield(pattern: "1000")!]
        let rollback = checkpoint.rollback(verified: latest, masks: masks, layout: layout)
        #expect(rollback.unverified == [PieceIndex(2)])
        #expect(rollback.verified == Bitfield(pattern: "10000")!)
        #expect(
            rollback.masks == [
                PieceIndex(2): Bitfield(pattern: "1111")!, PieceIndex(3): Bitfield(pattern: "1100")!,
                PieceIndex(4): Bitfield(pattern: "0000")!,
            ])
        #expect(
            rollback.journaledMasks == [
                PieceIndex(2): Bitfield(pattern: "1111")!, PieceIndex(3): Bitfield(pattern: "1100")!,
            ])
        #expect(
            checkpoint.rollback(verified: Bitfield(pattern: "10000")!, masks: checkpoint.blockMasks, layout: layout)
                .isEmpty)
    }
}
