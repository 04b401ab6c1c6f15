import Testing

@testable import Engine

/// What the check at start trusts of the recorded progress: cut back to the durable checkpoint after a
/// possible power loss, dropped for missing files, rechecked for files changed behind btq's back.
@Suite struct RestoreFindingsTests {
    /// Two files of two 32 KiB pieces each: pieces 0 and 1 in `t/a`, 2 and 3 in `t/b`.
    static let files: TorrentFiles = [
        TorrentFile(relativePath: "t/a", length: 65_536, offset: 0),
        TorrentFile(relativePath: "t/b", length: 65_536, offset: 65_536),
    ]
    static let layout = PieceLayout(pieceLength: 32_768, totalLength: 131_072)
    static let map = FileSpanMap(files: files, layout: layout)
    static let stats = [
        FileStat(index: FileIndex(0), size: 65_536, modificationTimeNanoseconds: 1_000),
        FileStat(index: FileIndex(1), size: 65_536, modificationTimeNanoseconds: 2_000),
    ]

    static func bits(_ indices: [Int], count: Int = 4) -> Bitfield {
        var bits = Bitfield(count: count)
        for index in indices { bits.set(index) }
        return bits
    }

    /// Pieces 0 and 2 verified, one block of piece 3 written.
    static let state = ResumeState(
        torrentId: 1, verified: bits([0, 2]), blockMasks: [PieceIndex(3): bits([0], count: 2)], files: stats)

    func compared(current: [FileStat]) -> RestoreFindings {
        var findings = RestoreFindings(recorded: Self.state, policy: .cleanHistory, pieceCount: 4)
        findings.compare(
            files: Self.files, map: Self.map, recorded: Self.stats,
            current: Dictionary(uniqueKeysWithValues: current.map { ($0.index, $0) }), policy: .cleanHistory)
        return findings
    }

    @Test func filesAsRecordedKeepTheirProgress() {
        let findings = compared(current: Self.stats)
        #expect(findings.verified == Self.bits([0, 2]))
        #expect(findings.masks == [PieceIndex(3): Self.bits([0], count: 2)])
        #expect(findings.recheck.isEmpty && findings.missingFiles.isEmpty && findings.changedFiles.isEmpty)
    }

    @Test func aMissingFileLosesItsProgress() {
        let findings = compared(current: [Self.stats[0]])
        #expect(findings.missingFiles == ["t/b"])
        #expect(findings.verified == Self.bits([0]))
        #expect(findings.masks.isEmpty && findings.recheck.isEmpty)
    }

    @Test func aChangedFileHasItsVerifiedPiecesRechecked() {
        var touched = Self.stats[1]
        touched.modificationTimeNanoseconds += 1
        let findings = compared(current: [Self.stats[0], touched])
        #expect(findings.changedFiles == ["t/b"] && findings.missingFiles.isEmpty)
        #expect(findings.verified == Self.bits([0]))
        #expect(findings.recheck == [PieceIndex(2)])
        // Blocks of its unfinished pieces are not trusted.
        #expect(findings.masks.isEmpty)
    }

    @Test func aFileWithoutProgressIsNotLookedAt() {
        let state = ResumeState(torrentId: 1, verified: Self.bits([0]), files: Self.stats)
        var findings = RestoreFindings(recorded: state, policy: .cleanHistory, pieceCount: 4)
        findings.compare(files: Self.files, map: Self.map, recorded: Self.stats, current: [:], policy: .cleanHistory)
        #expect(findings.missingFiles == ["t/a"])
        #expect(findings.verified.isNone)
    }

    @Test func afterAPossiblePowerLossOnlyTheDurableCheckpointIsTrusted() {
        let crash = ResumePolicy.UncleanStop(
            bootId: "earlier boot", startedAt: Timestamp(rawValue: 0), lastSeenAt: Timestamp(rawValue: 2_000))
        let policy = ResumePolicy(bootId: "this boot", uncleanStops: [crash])
        let state = ResumeState(
            torrentId: 1, verified: Self.bits([0, 1, 2]), durableVerified: Self.bits([0]),
            blockMasks: [PieceIndex(3): Self.bits([0, 1], count: 2)],
            durableBlockMasks: [PieceIndex(3): Self.bits([0], count: 2)], checkpointAt: Timestamp(rawValue: 1_000),
            recordedAt: Timestamp(rawValue: 1_500))
        let findings = RestoreFindings(recorded: state, policy: policy, pieceCount: 4)
        #expect(findings.distrustedLatest)
        #expect(findings.verified == Self.bits([0]))
        #expect(findings.recheck == [PieceIndex(1), PieceIndex(2)])
        #expect(findings.masks == [PieceIndex(3): Self.bits([0], count: 2)])
        // With a clean history the latest progress stands.
        let trusted = RestoreFindings(recorded: state, policy: .cleanHistory, pieceCount: 4)
        #expect(!trusted.distrustedLatest && trusted.verified == Self.bits([0, 1, 2]) && trusted.recheck.isEmpty)
    }

    @Test func progressBeyondTheDurableCheckpointIsWhatMustBeSynced() {
        var findings = RestoreFindings(verified: Self.bits([0, 1]))
        findings.recheck = [PieceIndex(2)]
        findings.masks = [PieceIndex(3): Self.bits([0], count: 2)]
        let durable = DurableCheckpoint(torrentId: 1, verified: Self.bits([0]))
        #expect(findings.notDurable(beyond: durable) == [PieceIndex(1), PieceIndex(2), PieceIndex(3)])
        let all = DurableCheckpoint(
            torrentId: 1, verified: Self.bits([0, 1, 2]), blockMasks: [PieceIndex(3): Self.bits([0], count: 2)])
        #expect(findings.notDurable(beyond: all).isEmpty)
    }

    @Test func theTrustedProgressGoesToThePickerAndFullyWrittenPiecesAreRechecked() {
        var findings = RestoreFindings(verified: Self.bits([0, 2]))
        findings.recheck = [PieceIndex(2)]
        findings.masks = [PieceIndex(1): Self.bits([0], count: 2), PieceIndex(3): Self.bits([0, 1], count: 2)]
        var picker = PiecePicker(layout: Self.layout)
        var assemblies = PieceAssemblies(layout: Self.layout)
        let kept = findings.apply(to: &picker, assemblies: &assemblies)
        #expect(kept == 3)
        // Piece 2 waits for its recheck; piece 3's blocks are all written, so it is rechecked too.
        #expect(picker.has(PieceIndex(0)) && !picker.has(PieceIndex(2)))
        #expect(findings.recheck == [PieceIndex(2), PieceIndex(3)])
        #expect(picker.writtenBlockMasks[PieceIndex(1)] == Self.bits([0], count: 2))
        // The other blocks of an unfinished piece go straight to disk: it is hashed from the files.
        #expect(assemblies.direct.contains(PieceIndex(1)))
    }

    @Test func verdictsReadBackReachThePickerAndWhatTheStoreMustLearn() {
        var picker = PiecePicker(layout: Self.layout)
        _ = picker.pieceVerified(PieceIndex(0))
        var journal = ProgressJournal(pieceCount: 4)
        // The store holds pieces 0, 1 and 2 as verified; 1 is gone with its file, 2 and 3 are read back.
        journal.restore(
            verified: Self.bits([0, 1, 2]), masks: [:],
            durable: DurableCheckpoint(torrentId: 1, verified: Self.bits([])))
        let valid = RestoreFindings.applyVerdicts(
            [PieceIndex(2), PieceIndex(3)], valid: [false, true], to: &picker, journal: &journal)
        #expect(valid == 1)
        #expect(picker.has(PieceIndex(3)) && !picker.has(PieceIndex(2)))
        #expect(journal.unsavedPieces == [PieceIndex(1): false, PieceIndex(2): false, PieceIndex(3): true])
    }

    @Test func theHistoryTellsWhatTheCheckFound() {
        var findings = RestoreFindings(verified: Self.bits([]))
        findings.missingFiles = ["t/a", "t/b", "t/c", "t/d"]
        findings.distrustedLatest = true
        let outcome = RestoreFindings.Outcome(
            piecesVerified: 2, pieceCount: 4, restoredBlocks: 3, rechecked: 1, valid: 1, bytesRead: 32_768)
        let events = findings.events(torrentId: 7, outcome: outcome)
        #expect(events.map(\.kind) == [.dataMissing, .checked])
        #expect(events.allSatisfy { $0.torrentId == 7 })
        #expect(events[0].detail == "4 file(s) missing: their pieces are downloaded again (t/a, t/b, t/c, ...)")
        #expect(
            events[1].detail
                == "2 of 4 pieces verified, 3 blocks of unfinished pieces kept; rechecked 1 piece(s), 1 valid"
                + " (32768 bytes read); progress after the last durable checkpoint was distrusted")
    }
}
