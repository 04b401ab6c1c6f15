/// One entry to append to the history.
public struct HistoryEvent: Hashable, Sendable {
    /// The torrent it is about, or `nil` for events of btq itself (daemon start and stop).
    public var torrentId: Int64?
    /// When it happened.
    public var at: Timestamp
    /// What happened.
    public var kind: EventKind
    /// Human-readable detail (reason, old and new values), if any.
    public var detail: String?

    /// Creates an event; `at` defaults to now.
    public init(torrentId: Int64?, at: Timestamp = .now, kind: EventKind, detail: String? = nil) {
        self.torrentId = torrentId
        self.at = at
        self.kind = kind
        self.detail = detail
    }
}
