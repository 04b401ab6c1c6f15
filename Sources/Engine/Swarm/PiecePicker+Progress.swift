extension PiecePicker {
    /// How far the wanted part of a torrent is: the pieces verified or wanted (a skipped piece counts
    /// only once verified), and their bytes.
    public struct Progress: Equatable, Sendable {
        /// Pieces verified or wanted.
        public var piecesWanted = 0
        /// Of those, the verified ones.
        public var piecesDone = 0
        /// Bytes of the pieces verified or wanted.
        public var bytesWanted: Int64 = 0
        /// Of those, the bytes of verified pieces.
        public var bytesDone: Int64 = 0

        /// Bytes wanted and not verified yet (what trackers are told is left).
        public var bytesLeft: Int64 { bytesWanted - bytesDone }
    }

    /// The pieces and bytes verified and wanted now (one pass over the pieces).
    public var progress: Progress {
        var progress = Progress()
        for piece in layout.pieces where has(piece) || wants(piece) {
            let length = Int64(layout.length(of: piece))
            progress.bytesWanted += length
            progress.piecesWanted += 1
            if has(piece) {
                progress.bytesDone += length
                progress.piecesDone += 1
            }
        }
        return progress
    }
}
