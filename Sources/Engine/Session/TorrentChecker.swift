import Foundation

/// A full recheck of a torrent's data (`btq verify`): every piece is hashed from the files, on all
/// cores, and the resume store is brought in line with what was found, in one transaction: verified
/// bits set and cleared, the files' sizes and times recorded (so the next start trusts them), and a
/// `checked` event with the figures.
package struct TorrentChecker: Sendable {
    /// What a recheck found.
    package struct Result: Sendable, Hashable {
        /// Pieces whose hash matched.
        package var validPieces: Int
        /// All pieces of the torrent.
        package var pieceCount: Int
        /// Pieces that were recorded verified and failed now.
        package var lostPieces: Int
        /// Pieces found valid that were not recorded verified.
        package var foundPieces: Int
        /// Bytes hashed.
        package var bytesChecked: Int64
        /// How long the hashing took.
        package var duration: Duration
        /// True when every wanted piece is valid.
        package var isComplete: Bool

        /// Hashing speed in bytes per second.
        package var bytesPerSecond: Double {
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return seconds > 0 ? Double(bytesChecked) / seconds : 0
        }
    }

    /// How the `checked` event of a full recheck begins (a download's check at start says something else).
    package static let eventPrefix = "full recheck:"

    let metainfo: Metainfo
    let storage: any PieceStorage
    let resume: any ResumeStore
    let torrentId: Int64
    let filePriorities: [PiecePriority]
    let concurrency: Int

    /// Creates a checker; `filePriorities` (one per file, 0 skips) decide what completeness means.
    package init(
        metainfo: Metainfo, storage: any PieceStorage, resume: any ResumeStore, torrentId: Int64,
        filePriorities: [PiecePriority] = [], concurrency: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.metainfo = metainfo
        self.storage = storage
        self.resume = resume
        self.torrentId = torrentId
        self.filePriorities = filePriorities
        self.concurrency = concurrency
    }

    /// Hashes every piece and records the outcome; `progress` gets (checked, total) after each piece.
    ///
    /// - Throws: ``StorageError`` when the files cannot be prepared, or the store's error when the
    ///   outcome cannot be recorded (then nothing of it is).
    package func run(progress: (@Sendable (_ checked: Int, _ total: Int) -> Void)? = nil) async throws -> Result {
        let verifier: PieceVerifier
        do {
            verifier = try PieceVerifier(metainfo: metainfo, concurrency: concurrency)
        } catch {
            throw StorageError(reason: .ioFailure, operation: .read, path: "\(error)")
        }
        let layout = storage.layout
        let state = try resume.resumeState(torrentId: torrentId)
        let recorded = state?.verified ?? Bitfield(count: layout.pieceCount)
        try await storage.prepare()
        let clock = ContinuousClock()
        let start = clock.now
        let report = await verifier.verify(storage, progress: progress)
        let duration = clock.now - start
        var changes: [PieceIndex: Bool] = [:]
        var lost = 0
        var found = 0
        for piece in layout.pieces {
            let valid = report.valid[piece.value]
            let was = recorded.count == layout.pieceCount && recorded.contains(piece.value)
            if valid != was {
                changes[piece] = valid
                if valid { found += 1 } else { lost += 1 }
            }
        }
        var picker = PiecePicker(layout: layout)
        let map = FileSpanMap(files: metainfo.files, layout: layout)
        picker.setFilePriorities(PiecePriority.perFile(of: metainfo.files, chosen: filePriorities), map: map)
        for piece in report.validPieces { picker.pieceVerified(piece) }
        let stats = await storage.currentFileStats().map { $0.values.sorted { $0.index < $1.index } } ?? []
        let bytes = layout.pieces.reduce(Int64(0)) { $0 + Int64(layout.length(of: $1)) }
        let result = Result(
            validPieces: report.validCount, pieceCount: layout.pieceCount, lostPieces: lost, foundPieces: found,
            bytesChecked: bytes, duration: duration, isComplete: picker.isComplete)
        let rate = result.bytesPerSecond / 1_000_000
        var detail = "\(Self.eventPrefix) \(result.validPieces) of \(result.pieceCount) pieces valid"
        if lost > 0 { detail += ", \(lost) recorded piece(s) found bad" }
        if found > 0 { detail += ", \(found) piece(s) found good" }
        detail += String(format: " (%.1f MB/s)", rate)
        // Blocks of unfinished pieces cannot be checked one by one: a full recheck starts them over.
        var masks: [PieceIndex: Bitfield] = [:]
        for (piece, mask) in state?.blockMasks ?? [:] { masks[piece] = Bitfield(count: mask.count) }
        try resume.saveProgress(
            ProgressBatch(
                torrents: [TorrentProgress(torrentId: torrentId, pieces: changes, blockMasks: masks, fileStats: stats)],
                events: [HistoryEvent(torrentId: torrentId, kind: .checked, detail: detail)]))
        return result
    }
}
