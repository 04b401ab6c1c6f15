/// Transmission's status numbers (`tr_torrent_activity` of Transmission 3.00's `rpc-spec`), from btq's
/// states.
public enum RPCTorrentStatus: Int, Sendable {
    case stopped = 0
    case checkWait = 1
    case check = 2
    case downloadWait = 3
    case download = 4
    case seedWait = 5
    case seed = 6

    /// The status of a torrent in `state`; `isDone` tells a queued seed (waiting for a seed slot) from a
    /// queued download. `paused`, `completed` (its seed limits reached) and `error` are all stopped
    /// (an error shows in `error` and `errorString`); fetching a magnet's metadata is downloading, as in
    /// Transmission.
    public init(_ state: RPCTorrentState, isDone: Bool) {
        switch state {
        case .queued: self = isDone ? .seedWait : .downloadWait
        case .checking: self = .check
        case .metadata, .downloading: self = .download
        case .seeding: self = .seed
        case .paused, .completed, .error: self = .stopped
        }
    }
}

/// Transmission's file priorities (-1 low, 0 normal, 1 high) and btq's (0 skipped, 1...7, 4 normal).
public enum RPCPriority {
    /// btq's priority for Transmission's `priority`.
    public static func btq(_ transmission: Int64) -> Int {
        transmission < 0 ? 1 : transmission > 0 ? 7 : 4
    }

    /// Transmission's priority for btq's (a skipped file keeps normal; `wanted` says it is skipped).
    public static func transmission(_ btq: Int) -> Int {
        switch btq {
        case 1...3: return -1
        case 5...: return 1
        default: return 0
        }
    }
}
