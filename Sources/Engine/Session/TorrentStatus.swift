/// A snapshot of a running torrent, for progress lines and `btq list`.
package struct TorrentStatus: Sendable, Hashable {
    /// Pieces verified.
    package var piecesDone: Int
    /// Pieces wanted in all (skipped files excluded).
    package var piecesWanted: Int
    /// Bytes verified.
    package var bytesDone: Int64
    /// Bytes wanted in all.
    package var bytesWanted: Int64
    /// Payload bytes received this session.
    package var downloaded: Int64
    /// Payload bytes sent this session.
    package var uploaded: Int64
    /// Bytes received that were thrown away (duplicates, failed pieces).
    package var wasted: Int64
    /// Download rate, bytes per second, smoothed.
    package var downloadRate: Double
    /// Upload rate, bytes per second, smoothed.
    package var uploadRate: Double = 0
    /// Connected peers (handshake done).
    package var peers: Int
    /// Peers we know addresses of.
    package var knownPeers: Int
    /// The connected peers by source and by what they transfer.
    package var peerCounts = PeerCounts()
    /// True when every wanted piece is verified.
    package var isComplete: Bool
    /// Why the session stopped, when it did.
    package var failure: String?
    /// How long since the last block arrived (or since the session started, before any did).
    package var idleTime: Duration = .zero
    /// True until the session has checked what is already done (the other figures are not meaningful yet).
    package var isStarting = false
    /// The check at start found wanted pieces missing (a seed whose files were damaged or deleted): true
    /// even after they were downloaded again, which may take less time than a look at the status.
    package var wasIncompleteAtStart = false

    /// Fraction of the wanted bytes verified.
    package var progress: Double { bytesWanted == 0 ? 1 : Double(bytesDone) / Double(bytesWanted) }

    /// Seconds until done at the current rate, when it can be said.
    package var eta: Double? {
        guard downloadRate > 1, bytesWanted > bytesDone else { return nil }
        return Double(bytesWanted - bytesDone) / downloadRate
    }
}
