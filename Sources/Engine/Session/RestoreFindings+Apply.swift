/// What the findings do to the session's parts once decided: pieces and blocks taken up by the picker,
/// the verdicts of the pieces read back, the journal brought in line with them, and the history entries
/// that tell the user what the start check found.
extension RestoreFindings {
    /// Marks what is trusted as done in `picker`: the verified pieces (but those to recheck) and the
    /// written blocks of unfinished pieces, whose other blocks then go straight to disk (`assemblies`),
    /// as the piece will be hashed from the files. A piece all of whose blocks were written but whose
    /// check was not recorded joins those to recheck. Returns how many blocks were kept.
    mutating func apply(to picker: inout PiecePicker, assemblies: inout PieceAssemblies) -> Int {
        let layout = picker.layout
        for piece in verified.setIndices.map({ PieceIndex($0) }) where !recheck.contains(piece) {
            _ = picker.pieceVerified(piece)
        }
        var restoredBlocks = 0
        for (piece, mask) in masks
        where !verified.contains(piece.value) && mask.count == layout.blockCount(in: piece) {
            restoredBlocks += mask.cardinality
            assemblies.goDirect(piece)
            if picker.restoreWrittenBlocks(mask.setIndices.map { BlockIndex($0) }, in: piece) {
                recheck.insert(piece)
            }
        }
        return restoredBlocks
    }

    /// Takes the verdicts of the pieces read back (`valid[i]` for `rechecked[i]`) into `picker`, and
    /// what differs from the store's view into `journal`: a piece found good that the store does not
    /// hold as verified, and a piece the store holds as verified that the picker does not (found bad,
    /// or its file missing or changed). Returns how many were valid.
    static func applyVerdicts(
        _ rechecked: [PieceIndex], valid: [Bool], to picker: inout PiecePicker, journal: inout ProgressJournal
    ) -> Int {
        var count = 0
        for (piece, isValid) in zip(rechecked, valid) {
            if isValid {
                count += 1
                _ = picker.pieceVerified(piece)
                if !journal.journaledVerified.contains(piece.value) { journal.unsavedPieces[piece] = true }
            } else {
                _ = picker.pieceFailed(piece)
            }
        }
        for piece in journal.journaledVerified.setIndices.map({ PieceIndex($0) }) where !picker.has(piece) {
            journal.unsavedPieces[piece] = false
        }
        return count
    }

    /// What the start check tells the torrent's history: files missing or changed (each kind naming the
    /// first few), and a `checked` entry with what is done and what was read back.
    func events(torrentId: Int64, outcome: Outcome) -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        func report(_ kind: EventKind, _ files: [String], _ what: String) {
            guard !files.isEmpty else { return }
            let names = files.prefix(3).joined(separator: ", ") + (files.count > 3 ? ", ..." : "")
            events.append(
                HistoryEvent(torrentId: torrentId, kind: kind, detail: "\(files.count) file(s) \(what) (\(names))"))
        }
        report(.dataMissing, missingFiles, "missing: their pieces are downloaded again")
        report(.fileChanged, changedFiles, "changed on disk: their pieces are rechecked")
        var detail = "\(outcome.piecesVerified) of \(outcome.pieceCount) pieces verified"
        if outcome.restoredBlocks > 0 { detail += ", \(outcome.restoredBlocks) blocks of unfinished pieces kept" }
        detail +=
            "; rechecked \(outcome.rechecked) piece(s), \(outcome.valid) valid (\(outcome.bytesRead) bytes read)"
        if distrustedLatest { detail += "; progress after the last durable checkpoint was distrusted" }
        if checkedDataOnDisk { detail += "; nothing was recorded: the pieces holding data were checked" }
        events.append(HistoryEvent(torrentId: torrentId, kind: .checked, detail: detail))
        return events
    }

    /// How the start check ended, for its history entry.
    struct Outcome {
        var piecesVerified: Int
        var pieceCount: Int
        var restoredBlocks: Int
        var rechecked: Int
        var valid: Int
        var bytesRead: Int64
    }
}
