import NIOCore
import Synchronization

/// The JSON a `torrent-get` wrote for each torrent that no session works, by the fields asked, kept for
/// the next request of the same fields: clients poll every torrent's fields every few seconds, and a
/// stopped or queued torrent's answer changes only when its values do. A kept answer is used only when
/// the torrent's values (``RPCTorrent``) and details (``RPCTorrentDetails``) equal those it was written
/// from, so it is what writing would give; a worked torrent (whose rates, peers and tracker times move)
/// is always written afresh. Bounded: ``maximumBytes`` of JSON over at most ``maximumShapes`` sets of
/// fields, the least recently asked set dropped first.
final class RPCAnswerCache: Sendable {
    /// The JSON kept of the torrents, by field set.
    static let maximumBytes = 32 << 20
    static let maximumShapes = 4

    /// What a request asked: its fields and format.
    struct Shape: Hashable {
        var fields: [RPCTorrentField]
        var table: Bool
    }

    /// One torrent's answer and what it was written from.
    struct Fragment {
        var torrent: RPCTorrent
        var details: RPCTorrentDetails
        var json: [UInt8]
    }

    /// The answers kept for one shape.
    struct Entries {
        var fragments: [Int64: Fragment] = [:]
        /// JSON bytes of the fragments.
        var bytes = 0
        /// Bytes the last answer of this shape took per torrent (to size the next one's buffer).
        var bytesPerTorrent = 0
        /// Bytes every shape may still add.
        fileprivate(set) var room = 0
        fileprivate var lastUse: UInt64 = 0

        /// Keeps `fragment` of `id` when there is room.
        mutating func keep(_ fragment: Fragment, of id: Int64) {
            let old = fragments[id]?.json.count ?? 0
            guard fragment.json.count - old <= room else { return }
            fragments[id] = fragment
            bytes += fragment.json.count - old
            room -= fragment.json.count - old
        }

        /// Forgets the torrents not in `ids`.
        mutating func keepOnly(_ ids: Set<Int64>) {
            guard fragments.count > ids.count || fragments.keys.contains(where: { !ids.contains($0) }) else { return }
            let before = bytes
            fragments = fragments.filter { ids.contains($0.key) }
            bytes = fragments.values.reduce(0) { $0 + $1.json.count }
            room += before - bytes
        }
    }

    private struct State {
        var shapes: [Shape: Entries] = [:]
        var clock: UInt64 = 0
        var spare: ByteBuffer?
    }

    /// The largest answer buffer kept for the next answer.
    static let maximumSpare = 64 << 20

    private let state = Mutex(State())

    init() {}

    /// Runs `body` with the answers kept for `shape` (made when none are), the others locked out
    /// meanwhile.
    func withEntries<Result>(for shape: Shape, _ body: (inout Entries) -> Result) -> Result {
        state.withLock { state in
            state.clock += 1
            if state.shapes[shape] == nil, state.shapes.count >= Self.maximumShapes,
                let oldest = state.shapes.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
            {
                state.shapes[oldest] = nil
            }
            var entries = state.shapes.removeValue(forKey: shape) ?? Entries()
            entries.lastUse = state.clock
            entries.room = Self.maximumBytes - state.shapes.values.reduce(0) { $0 + $1.bytes } - entries.bytes
            let result = body(&entries)
            state.shapes[shape] = entries
            return result
        }
    }

    /// The buffer the last large answer was sent from, for the next one to be written into: once the
    /// answer is sent it is this buffer's only holder, and the next answer then writes into memory already
    /// mapped instead of a fresh allocation of the same size, whose every page would fault afresh (a third
    /// of the time of an answer for 10,000 torrents). `nil` when none is kept, or another answer has it.
    func takeBuffer() -> ByteBuffer? {
        state.withLock { state in
            defer { state.spare = nil }
            return state.spare
        }
    }

    /// Keeps `buffer` (an answer being sent) for ``takeBuffer()``, when it is large enough to matter and no
    /// larger than ``maximumSpare``.
    func keepBuffer(_ buffer: ByteBuffer) {
        guard (1 << 20...Self.maximumSpare).contains(buffer.capacity) else { return }
        state.withLock { $0.spare = buffer }
    }

    /// JSON bytes kept over every shape.
    var bytes: Int { state.withLock { $0.shapes.values.reduce(0) { $0 + $1.bytes } } }
}
