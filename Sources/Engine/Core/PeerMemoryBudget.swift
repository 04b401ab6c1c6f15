import Synchronization

/// The bytes a process holds for its peers, and the limits on them: frames queued to send to each
/// peer (see `PeerOutbox`) and frames partly received (see ``PeerWireFramer``).
///
/// One instance is shared by every session and the listener of a process. A peer whose send queue
/// passes ``peerQueueLimit`` is not read from until it drains, and is dropped when it does not drain
/// within ``drainTimeout``. While the process as a whole holds more than ``processLimit``, a peer
/// with more than ``peerQueueFloor`` queued is not read from either, so the peers that cost the most
/// are slowed (and dropped, if they never drain) first.
public final class PeerMemoryBudget: Sendable {
    /// The default for ``peerQueueLimit``: 4 MiB.
    public static let defaultPeerQueueLimit = 4 << 20
    /// The default for ``processLimit``: 256 MiB.
    public static let defaultProcessLimit = 256 << 20
    /// The default for ``drainTimeout``: 30 s.
    public static let defaultDrainTimeout = Duration.seconds(30)

    /// Most bytes queued for one peer before it is not read from any more.
    public let peerQueueLimit: Int
    /// Most bytes held for all peers of the process before the peers holding the most are not read from.
    public let processLimit: Int
    /// How long a peer over its limit may take to drain before it is dropped.
    public let drainTimeout: Duration
    private let used = Atomic<Int>(0)

    /// A budget with the given limits (each at least 64 KiB, and a drain timeout of at least 1 ms).
    public init(
        peerQueueLimit: Int = PeerMemoryBudget.defaultPeerQueueLimit,
        processLimit: Int = PeerMemoryBudget.defaultProcessLimit,
        drainTimeout: Duration = PeerMemoryBudget.defaultDrainTimeout
    ) {
        self.peerQueueLimit = max(64 << 10, peerQueueLimit)
        self.processLimit = max(64 << 10, processLimit)
        self.drainTimeout = max(.milliseconds(1), drainTimeout)
    }

    /// Under process-wide pressure, peers with more than this queued stop being read from: an eighth
    /// of ``peerQueueLimit``.
    public var peerQueueFloor: Int { peerQueueLimit / 8 }

    /// Bytes held now for all peers (queued to send plus partly received).
    public var usedBytes: Int { used.load(ordering: .relaxed) }

    /// Whether the process holds more than ``processLimit``.
    public var isOverProcessLimit: Bool { usedBytes > processLimit }

    /// Counts `bytes` more (or fewer, when negative).
    public func charge(_ bytes: Int) {
        guard bytes != 0 else { return }
        used.add(bytes, ordering: .relaxed)
    }

    /// Whether a peer with `queued` bytes in its send queue may be read from now.
    public func allowsReading(queued: Int) -> Bool {
        queued <= peerQueueLimit && (queued <= peerQueueFloor || !isOverProcessLimit)
    }
}
