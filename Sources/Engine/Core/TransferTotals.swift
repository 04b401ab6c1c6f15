/// Byte counters of a torrent over its whole life.
public struct TransferTotals: Hashable, Sendable, Codable {
    /// Payload bytes received from peers (including bytes later discarded).
    public var downloaded: Int64
    /// Payload bytes sent to peers.
    public var uploaded: Int64
    /// Bytes received and thrown away: failed hash checks, duplicates from endgame.
    public var wasted: Int64

    /// Creates totals (all zero by default).
    public init(downloaded: Int64 = 0, uploaded: Int64 = 0, wasted: Int64 = 0) {
        self.downloaded = downloaded
        self.uploaded = uploaded
        self.wasted = wasted
    }

    /// True when every counter is zero.
    public var isZero: Bool { downloaded == 0 && uploaded == 0 && wasted == 0 }
}
