import Foundation

/// One run of a btq process that works torrents (`btq run`, `btq get`), as the `runs` table keeps it.
public struct RunRecord: Hashable, Sendable {
    /// Its row id.
    public var id: Int64
    /// The process id it had.
    public var pid: Int32
    /// The kernel's boot id while it ran.
    public var bootId: String?
    /// When it started.
    public var startedAt: Date
    /// Its last sign of life (refreshed while it runs).
    public var heartbeatAt: Date
    /// When it stopped, if it did.
    public var stoppedAt: Date?
    /// True when it stopped cleanly (everything flushed and checkpointed).
    public var clean: Bool

    /// A run with every field given.
    public init(
        id: Int64, pid: Int32, bootId: String?, startedAt: Date, heartbeatAt: Date, stoppedAt: Date?, clean: Bool
    ) {
        self.id = id
        self.pid = pid
        self.bootId = bootId
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.stoppedAt = stoppedAt
        self.clean = clean
    }
}
