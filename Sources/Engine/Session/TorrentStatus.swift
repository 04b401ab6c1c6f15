/// A snapshot of a running torrent, for progress lines and `btq list`.
public struct TorrentStatus: Sendable, Hashable {
    /// Pieces verified.
    public var piecesDone: Int
    /// Pieces wanted in all (skipped files excluded).
    public var piecesWanted: Int
    /// Bytes verified.
    public var bytesDone: Int64
    /// Bytes wanted in all.
    public var bytesWanted: Int64
    /// Payload bytes received this session.
    public var downloaded: Int64
    /// Payload bytes sent this session.
    public var uploaded: Int64
    /// Bytes received that were thrown away (duplicates, failed pieces).
    public var wasted: Int64
    /// Download rate, bytes per second, smoothed.
    public var downloadRate: Double
    /// Upload rate, bytes per second, smoothed.
    public var uploadRate: Double = 0
    /// Connected peers (handshake done).
    public var peers: Int
    /// Peers we know addresses of.
    public var knownPeers: Int
    /// True when every wanted piece is verified.
    public var isComplete: Bool
    /// Why the session stopped, when it did.
    public var failure: String?
    /// How long since the last block arrived (or since the session started, before any did).
    public var idleTime: Duration = .zero
    /// True until the session has checked what is already done (the other figures are not meaningful yet).
    public var isStarting = false
    /// The check at start found wanted pieces missing (a seed whose files were damaged or deleted): true
    /// even after they were downloaded again, which may take less time than a look at the status.
    public var wasIncompleteAtStart = false

    /// Fraction of the wanted bytes verified.
    public var progress: Double { bytesWanted == 0 ? 1 : Double(bytesDone) / Double(bytesWanted) }

    /// Seconds until done at the current rate, when it can be said.
    public var eta: Double? {
        guard downloadRate > 1, bytesWanted > bytesDone else { return nil }
        return Double(bytesWanted - bytesDone) / downloadRate
    }
}
