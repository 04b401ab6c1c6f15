/// The pieces of one info dictionary being fetched from peers (BEP 9), as a pure value: which piece
/// is asked of whom and since when, what arrived and from whom.
///
/// The fetcher asks ``nextRequest(for:now:)`` what to request from a peer, feeds it each `data`,
/// `reject` and timeout, and verifies ``assembled()`` once ``isComplete``. In single-source mode
/// (after a mixed assembly failed its hash, so nobody could be blamed) only one peer is asked, so
/// the next failure names its culprit.
struct MetadataAssembly: Sendable {
    /// The metadata's byte length.
    let size: Int
    /// Its number of 16 KiB pieces.
    let pieceCount: Int
    /// The only peer asked, in single-source mode.
    let singleSource: PeerKey?
    private var pieces: [[UInt8]?]
    private var pending: [Int: (peer: PeerKey, since: ContinuousClock.Instant)] = [:]
    /// Pieces each peer was asked for and has not answered (a late answer to a re-asked piece counts).
    private var asked: [PeerKey: Set<Int>] = [:]
    private var senders: [Int: PeerKey] = [:]
    private(set) var receivedCount = 0

    /// An assembly of `size` bytes; `nil` unless 0 < `size` <= ``MetadataMessage/maxMetadataSize``.
    init?(size: Int, singleSource: PeerKey? = nil) {
        guard size > 0, size <= MetadataMessage.maxMetadataSize else { return nil }
        self.size = size
        self.pieceCount = MetadataMessage.pieceCount(metadataSize: size)
        self.singleSource = singleSource
        self.pieces = Array(repeating: nil, count: pieceCount)
    }

    /// Whether every piece arrived.
    var isComplete: Bool { receivedCount == pieceCount }

    /// The peers that sent the pieces received so far.
    var contributors: Set<PeerKey> { Set(senders.values) }

    /// The requests outstanding at `peer`.
    func outstanding(at peer: PeerKey) -> Int { asked[peer]?.count ?? 0 }

    /// A missing piece nobody is asked for, now asked of `peer`; `nil` when there is none (or `peer`
    /// is not the single source).
    mutating func nextRequest(for peer: PeerKey, now: ContinuousClock.Instant) -> Int? {
        if let singleSource, singleSource != peer { return nil }
        guard let piece = pieces.indices.first(where: { pieces[$0] == nil && pending[$0] == nil }) else {
            return nil
        }
        pending[piece] = (peer, now)
        asked[peer, default: []].insert(piece)
        return piece
    }

    /// Takes in piece `piece` from `peer`; returns whether the metadata is now complete.
    ///
    /// - Throws: ``ExtensionMessageError`` when `peer` was not asked for it, it lies past the end, or
    ///   its length is wrong: the peer is at fault.
    mutating func receive(piece: Int, bytes: [UInt8], from peer: PeerKey) throws(ExtensionMessageError) -> Bool {
        guard piece < pieceCount else { throw .metadataPieceOutOfRange(piece: piece, pieceCount: pieceCount) }
        guard asked[peer]?.remove(piece) != nil else { throw .unrequestedMetadata(piece: piece) }
        let expected = MetadataMessage.length(ofPiece: piece, metadataSize: size)
        guard bytes.count == expected else {
            throw .metadataWrongLength(piece: piece, length: bytes.count, expected: expected)
        }
        if pending[piece]?.peer == peer || pieces[piece] == nil { pending[piece] = nil }
        guard pieces[piece] == nil else { return isComplete }
        pieces[piece] = bytes
        senders[piece] = peer
        receivedCount += 1
        return isComplete
    }

    /// `peer` will not send `piece`: someone else may be asked.
    mutating func rejected(piece: Int, by peer: PeerKey) {
        guard asked[peer]?.remove(piece) != nil else { return }
        if pending[piece]?.peer == peer { pending[piece] = nil }
    }

    /// Requests older than `timeout`: their pieces become free to ask of others (a late answer is
    /// still taken). Returns the peers that let them expire, one entry per request.
    mutating func expire(now: ContinuousClock.Instant, timeout: Duration) -> [PeerKey] {
        var slow: [PeerKey] = []
        for (piece, request) in pending where now - request.since > timeout {
            pending[piece] = nil
            slow.append(request.peer)
        }
        return slow
    }

    /// A peer left: its pieces become free to ask of others.
    mutating func peerGone(_ peer: PeerKey) {
        asked[peer] = nil
        for (piece, request) in pending where request.peer == peer { pending[piece] = nil }
    }

    /// The metadata, once complete.
    func assembled() -> [UInt8] {
        precondition(isComplete, "the metadata is not complete")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        for piece in pieces { bytes += piece! }
        return bytes
    }
}
