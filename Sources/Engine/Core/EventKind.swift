/// What kind of thing happened to a torrent (or to btq itself), as recorded in the history.
///
/// Stored by its raw value, so values never change once shipped; new kinds may be added.
public struct EventKind: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    /// The stored name, lower-case.
    public let rawValue: String

    /// Wraps a stored name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a string literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The stored name.
    public var description: String { rawValue }

    /// Added to the queue (or re-added after a soft delete).
    public static let added: EventKind = "added"
    /// Removed from the queue (soft delete; the history stays).
    public static let removed: EventKind = "removed"
    /// Moved in the queue.
    public static let moved: EventKind = "moved"
    /// Became active (checking, fetching metadata, downloading or seeding) from an inactive state.
    public static let started: EventKind = "started"
    /// Paused by the user.
    public static let paused: EventKind = "paused"
    /// Left the paused state.
    public static let resumed: EventKind = "resumed"
    /// A hash check began.
    public static let checking: EventKind = "checking"
    /// A hash check finished (the detail says what it found).
    public static let checked: EventKind = "checked"
    /// All wanted data is verified.
    public static let completed: EventKind = "completed"
    /// Stopped by a fault; the detail holds the reason.
    public static let error: EventKind = "error"
    /// Any other state transition; the detail says `from -> to`.
    public static let state: EventKind = "state"
    /// A magnet link's metadata arrived.
    public static let metadata: EventKind = "metadata"
    /// A file was found changed or missing at start.
    public static let fileChanged: EventKind = "file-changed"
    /// Files with verified data were gone at start: their pieces are fetched again.
    public static let dataMissing: EventKind = "data-missing"
    /// A download got no data for the stall timeout and stopped holding an active slot.
    public static let stalled: EventKind = "stalled"
    /// The DHT gave a torrent its first peers in a run (the detail says how many and how soon).
    public static let dhtPeers: EventKind = "dht-peers"
    /// A web seed's request failed (the detail names the URL and why; the first failure after data
    /// came, then one at each doubling of the failures in a row).
    public static let webSeedFailed: EventKind = "web-seed-failed"
    /// A web seed is not used again in this run (the detail names the URL and why: hash failures,
    /// failures in a row, an unsupported URL).
    public static let webSeedDropped: EventKind = "web-seed-dropped"
}
