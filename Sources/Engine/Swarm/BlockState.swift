/// Where one block of a piece being downloaded stands.
public enum BlockState: Hashable, Sendable {
    /// Nobody is fetching it.
    case none
    /// Requested from these peers (more than one only in endgame), oldest request first.
    case requested(by: [PeerKey])
    /// Its bytes arrived (from the peer, when known) and are being written.
    case received(from: PeerKey?)
    /// Its bytes are in the files.
    case written(from: PeerKey?)

    /// The peer the bytes came from, once received.
    public var source: PeerKey? {
        switch self {
        case .received(let peer), .written(let peer): return peer
        case .none, .requested: return nil
        }
    }
}

/// The blocks of one piece in progress, with counters kept in step.
struct DownloadingPiece: Sendable {
    /// Per block.
    private(set) var blocks: [BlockState]
    /// Blocks in state `.none`.
    private(set) var freeCount: Int
    /// Blocks in state `.written`.
    private(set) var writtenCount = 0

    init(blockCount: Int) {
        blocks = Array(repeating: .none, count: blockCount)
        freeCount = blockCount
    }

    /// True when every block is written: the piece can be hashed.
    var isComplete: Bool { writtenCount == blocks.count }

    subscript(block: Int) -> BlockState {
        get { blocks[block] }
        set {
            let old = blocks[block]
            if case .none = old { freeCount -= 1 }
            if case .written = old { writtenCount -= 1 }
            if case .none = newValue { freeCount += 1 }
            if case .written = newValue { writtenCount += 1 }
            blocks[block] = newValue
        }
    }

    /// Every block back to `.none`.
    /// `block` arrived from `peer`: marks it received and returns its state before, unless it was
    /// already received or written (then `nil`, nothing changed).
    mutating func receive(_ block: Int, from peer: PeerKey) -> BlockState? {
        let before = blocks[block]
        switch before {
        case .received, .written: return nil
        case .none, .requested: self[block] = .received(from: peer)
        }
        return before
    }

    /// A received `block` is in the files: marks it written. True when that completes the piece.
    mutating func write(_ block: Int) -> Bool {
        guard case .received(let source) = blocks[block] else { return false }
        self[block] = .written(from: source)
        return isComplete
    }

    mutating func reset() {
        blocks = Array(repeating: .none, count: blocks.count)
        freeCount = blocks.count
        writtenCount = 0
    }
}
