import Engine

/// What ``TorrentAdder/add(_:)`` did.
package enum AddOutcome: Sendable, Hashable {
    /// The torrent is now in the queue: a new row, or a soft-deleted torrent brought back (same id, its
    /// history kept; see ``TorrentAdder/add(_:)``).
    case added(TorrentRecord)
    /// A torrent with the same info-hash (either of them) is already in the queue; nothing was changed.
    case duplicate(TorrentRecord)

    /// The torrent, in either case.
    package var record: TorrentRecord {
        switch self {
        case .added(let record), .duplicate(let record): record
        }
    }

    /// True for ``duplicate(_:)``.
    package var isDuplicate: Bool {
        if case .duplicate = self { return true }
        return false
    }
}
