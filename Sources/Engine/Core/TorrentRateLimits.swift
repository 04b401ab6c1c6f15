/// A torrent's own rate limits, in bytes per second; `nil` means none of its own.
public struct TorrentRateLimits: Sendable, Hashable, Codable {
    /// Its download limit.
    public var download: Int64?
    /// Its upload limit.
    public var upload: Int64?

    /// Limits (none by default).
    public init(download: Int64? = nil, upload: Int64? = nil) {
        self.download = download
        self.upload = upload
    }
}
