/// The event an announce reports (BEP 3; BEP 15 numbers them differently, see ``udpCode``).
public enum AnnounceEvent: String, Sendable, Hashable {
    /// A regular re-announce.
    case none = ""
    /// The first announce of a download.
    case started
    /// The download just completed.
    case completed
    /// The client stops the torrent.
    case stopped

    /// The BEP 15 code: 0 none, 1 completed, 2 started, 3 stopped.
    public var udpCode: UInt32 {
        switch self {
        case .none: return 0
        case .completed: return 1
        case .started: return 2
        case .stopped: return 3
        }
    }
}

/// Everything an announce tells a tracker, for HTTP and UDP alike.
public struct AnnounceRequest: Sendable, Hashable {
    /// The 20-byte info-hash (a v2 torrent announces its truncated SHA-256).
    public var infoHash: [UInt8]
    /// Our 20-byte peer id.
    public var peerId: [UInt8]
    /// The TCP port we accept peers on (0 when we accept none).
    public var port: UInt16
    /// Payload bytes uploaded since `started`.
    public var uploaded: Int64
    /// Payload bytes downloaded since `started`.
    public var downloaded: Int64
    /// Bytes still missing.
    public var left: Int64
    /// Why we announce.
    public var event: AnnounceEvent
    /// How many peers we want (trackers cap it).
    public var numWant: Int
    /// A random number that stays the same for the session, so a tracker recognizes us across address changes.
    public var key: UInt32
    /// `tracker id` from the tracker's last reply, echoed back.
    public var trackerId: String?

    /// Creates an announce.
    public init(
        infoHash: [UInt8], peerId: [UInt8], port: UInt16, uploaded: Int64, downloaded: Int64, left: Int64,
        event: AnnounceEvent, numWant: Int = 200, key: UInt32, trackerId: String? = nil
    ) {
        precondition(infoHash.count == 20 && peerId.count == 20, "info-hash and peer id are 20 bytes")
        self.infoHash = infoHash
        self.peerId = peerId
        self.port = port
        self.uploaded = uploaded
        self.downloaded = downloaded
        self.left = left
        self.event = event
        self.numWant = numWant
        self.key = key
        self.trackerId = trackerId
    }

    /// The HTTP announce URL: `base` with the announce parameters appended (after any query it has,
    /// such as a passkey). Binary values are percent-encoded byte by byte.
    public func httpURL(base: String) -> String {
        var query: [(String, String)] = [
            ("info_hash", PercentEncoding.encode(infoHash)),
            ("peer_id", PercentEncoding.encode(peerId)),
            ("port", "\(port)"),
            ("uploaded", "\(max(0, uploaded))"),
            ("downloaded", "\(max(0, downloaded))"),
            ("left", "\(max(0, left))"),
            ("compact", "1"),
            ("no_peer_id", "1"),
            ("numwant", "\(max(0, numWant))"),
            ("key", String(key, radix: 16)),
        ]
        if event != .none { query.append(("event", event.rawValue)) }
        if let trackerId { query.append(("trackerid", PercentEncoding.encode(Array(trackerId.utf8)))) }
        return Self.append(query, to: base)
    }

    /// Appends `query` to `base`, respecting an existing query string and dropping any fragment.
    static func append(_ query: [(String, String)], to base: String) -> String {
        var url = base
        if let hash = url.firstIndex(of: "#") { url = String(url[..<hash]) }
        let separator = url.contains("?") ? (url.hasSuffix("?") || url.hasSuffix("&") ? "" : "&") : "?"
        return url + separator + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }
}
