import Crypto
import NIOCore

/// Tells, block by block, who sent the bad data of a v2 piece that failed its merkle check (BEP 52).
///
/// The leaves (SHA-256 of each 16 KiB block) of what was received are kept with who sent each block,
/// and a peer that has the piece is asked for the piece's block layer (a `hash request` with base
/// layer 0 covering the piece's leaves, no proof: the leaves must fold to the piece's hash, which we
/// trust already). An answer that folds to it names the bad blocks: their senders lied and nobody else
/// did. An answer that does not fold to it is a lie of the peer that answered. The verified leaves
/// are kept until the piece passes, so that a block sent again is checked as it arrives.
///
/// Bounded: at most ``maxPieces`` pieces are asked about or kept at once (32 bytes a block each), one
/// request out per piece, each for at most ``requestTimeout``, at most ``maxAsks`` peers asked per
/// piece; the caller falls back to v1-style smart ban when a piece cannot be settled.
public struct V2BlockCheck: Sendable {
    /// Nothing watched yet.
    public init() {}

    /// Pieces asked about or kept at once.
    public static let maxPieces = 8
    /// How long a peer has to answer.
    public static let requestTimeout: Duration = .seconds(10)
    /// Peers asked about one piece before giving up on it.
    public static let maxAsks = 3

    /// A failed piece whose block hashes are being asked for.
    public struct Failed: Sendable {
        /// The request that asks for its leaves.
        public let request: HashRequest
        /// The piece's trusted hash (32 bytes).
        public let expected: [UInt8]
        /// The leaves of its blocks as received (32 bytes each; zero for a block wholly in pad).
        public let received: [UInt8]
        /// The bytes of the piece that are data (the rest is pad).
        public let dataLength: Int
        /// Who sent each block.
        public let senders: [Int: PeerAddress]
        /// The SHA-1 digests of its blocks, for smart ban when it cannot be settled here.
        public let digests: [[UInt8]]
        /// The peers asked so far.
        public internal(set) var asked: Set<PeerAddress> = []
        /// The request out: to whom, until when.
        public internal(set) var outstanding: (key: PeerKey, deadline: ContinuousClock.Instant)?

        /// A failed piece: `request` asks for its leaves, which must fold to `expected`; `received`
        /// are its blocks' leaves as received, `senders` who sent each, `digests` their SHA-1.
        public init(
            request: HashRequest, expected: [UInt8], received: [UInt8], dataLength: Int, senders: [Int: PeerAddress],
            digests: [[UInt8]]
        ) {
            self.request = request
            self.expected = expected
            self.received = received
            self.dataLength = dataLength
            self.senders = senders
            self.digests = digests
        }
    }

    /// What an answer settled about a failed piece.
    public struct Verdict: Equatable, Sendable {
        /// The blocks whose bytes differ from the verified leaves.
        public var badBlocks: [Int]
        /// Who sent them.
        public var liars: Set<PeerAddress>
    }

    /// What a `hashes` message was.
    public enum Answer: Equatable, Sendable {
        /// Not an answer we wait for.
        case ignored
        /// The leaves of `piece` do not fold to its hash: the peer that answered lied.
        case lie(PieceIndex)
        /// The leaves of `piece` are verified, and say which blocks were bad.
        case verdict(PieceIndex, Verdict)
    }

    /// The verified leaves of a piece whose bad blocks are fetched again.
    public struct Known: Sendable {
        /// The piece's leaves, 32 bytes each.
        public var leaves: [UInt8]
        /// The bytes of the piece that are data.
        public var dataLength: Int
    }

    /// The failed pieces asked about.
    public private(set) var failed: [PieceIndex: Failed] = [:]
    /// The pieces whose leaves are verified.
    public private(set) var known: [PieceIndex: Known] = [:]

    /// True when another piece may be watched.
    public var hasRoom: Bool { failed.count + known.count < Self.maxPieces }

    /// Starts asking about `piece`, which failed; false when there is no room.
    public mutating func watch(_ piece: PieceIndex, _ record: Failed) -> Bool {
        guard failed[piece] == nil, known[piece] == nil, hasRoom else { return false }
        failed[piece] = record
        return true
    }

    /// The request for `piece`'s leaves went to the peer at `key` (`address`) at `now`.
    public mutating func asked(_ piece: PieceIndex, key: PeerKey, address: PeerAddress, now: ContinuousClock.Instant) {
        failed[piece]?.asked.insert(address)
        failed[piece]?.outstanding = (key, now + Self.requestTimeout)
    }

    /// The failed piece whose request to `key` is `request`.
    private func waiting(_ request: HashRequest, from key: PeerKey) -> PieceIndex? {
        failed.first { $0.value.outstanding?.key == key && $0.value.request == request }?.key
    }

    /// `hashes` arrived from the peer at `key` answering `request`.
    public mutating func answered(_ request: HashRequest, hashes: [UInt8], from key: PeerKey) -> Answer {
        guard let piece = waiting(request, from: key), let record = failed[piece] else { return .ignored }
        let count = Int(request.length)
        guard hashes.count >= count * 32 else {
            failed[piece]?.outstanding = nil
            return .lie(piece)
        }
        let leaves = Array(hashes[0..<count * 32])
        let root = MerkleTree.root(ofLayer: leaves, padding: MerkleTree.paddingHash(levels: 0))
        guard root == record.expected else {
            failed[piece]?.outstanding = nil
            return .lie(piece)
        }
        var verdict = Verdict(badBlocks: [], liars: [])
        // A file of one piece has fewer leaves than its piece has blocks: the rest of the piece is pad.
        for block in 0..<min(record.received.count / 32, count) {
            let range = block * 32..<block * 32 + 32
            guard record.received[range] != leaves[range] else { continue }
            verdict.badBlocks.append(block)
            if let sender = record.senders[block] { verdict.liars.insert(sender) }
        }
        failed[piece] = nil
        known[piece] = Known(leaves: leaves, dataLength: record.dataLength)
        return .verdict(piece, verdict)
    }

    /// `hash reject` arrived from the peer at `key`: the piece it was about, to ask someone else.
    public mutating func rejected(_ request: HashRequest, from key: PeerKey) -> PieceIndex? {
        guard let piece = waiting(request, from: key) else { return nil }
        failed[piece]?.outstanding = nil
        return piece
    }

    /// Pieces whose request expired by `now`, or went to a peer for which `isGone` holds (it left).
    public mutating func unanswered(
        now: ContinuousClock.Instant, isGone: (PeerKey) -> Bool
    ) -> (
        expired: [PieceIndex], gone: [PieceIndex]
    ) {
        var expired: [PieceIndex] = []
        var gone: [PieceIndex] = []
        for (piece, record) in failed {
            guard let outstanding = record.outstanding else { continue }
            if outstanding.deadline <= now {
                expired.append(piece)
            } else if isGone(outstanding.key) {
                gone.append(piece)
            } else {
                continue
            }
            failed[piece]?.outstanding = nil
        }
        return (expired.sorted(), gone.sorted())
    }

    /// Stops asking about `piece`: its record, for smart ban.
    public mutating func giveUp(_ piece: PieceIndex) -> Failed? {
        failed.removeValue(forKey: piece)
    }

    /// `piece` was checked again (passed, or failed from the files): its leaves are forgotten.
    public mutating func pieceChecked(_ piece: PieceIndex) {
        known[piece] = nil
    }

    /// Whether `bytes`, sent for `request`, match the verified leaf of their block; `nil` when the
    /// piece's leaves are not known. Bytes past the piece's data (pad) are not hashed by v2: they match.
    public func matches(_ request: BlockRequest, bytes: ByteBufferView) -> Bool? {
        guard let record = known[request.piece] else { return nil }
        let begin = Int(request.begin)
        let block = begin / MerkleTree.blockSize
        guard begin < record.dataLength, (block + 1) * 32 <= record.leaves.count else { return true }
        let count = min(bytes.count, record.dataLength - begin)
        let digest =
            bytes.withContiguousStorageIfAvailable {
                Array(SHA256.hash(data: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer($0)[0..<count])))
            } ?? Array(SHA256.hash(data: Array(bytes.prefix(count))))
        return digest[...] == record.leaves[block * 32..<block * 32 + 32]
    }
}
