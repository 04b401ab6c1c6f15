import Crypto

/// Tells which peer lied in a piece that several peers sent blocks of (what libtorrent calls smart ban).
///
/// When such a piece fails its hash, the digest of each of its blocks is kept with the address that
/// sent it. When the piece later passes, each kept digest is compared with the good block's: a peer
/// whose block differed sent bad data, and is banned at once; a peer whose blocks all matched was only
/// unlucky, and the share of the failure it was blamed for is taken back. At most ``maxPieces`` failed
/// pieces are watched (the oldest is forgotten first), so a peer cannot grow this without bound.
struct SmartBan {
    /// One block of a failed piece: who sent it and the SHA-1 of what it sent.
    struct Block: Equatable {
        var address: PeerAddress
        var digest: [UInt8]
    }

    /// What a failed piece's senders turned out to be once it passed.
    struct Verdict: Equatable {
        /// Sent at least one block that differs from the good piece.
        var liars: Set<PeerAddress>
        /// Every block they sent matched; `share` is the blame each took for the failure.
        var cleared: Set<PeerAddress>
        var share: Double
    }

    static let maxPieces = 64

    private var watched: [PieceIndex: (blocks: [Int: Block], share: Double)] = [:]
    private var order: [PieceIndex] = []

    /// True when `piece` failed with blocks from several peers and has not passed since.
    func isWatching(_ piece: PieceIndex) -> Bool { watched[piece] != nil }

    /// A piece failed: `senders` maps block indices to who sent them, `digests` are the failed piece's
    /// block digests (``digests(of:blockLength:)``), and `share` the blame each sender took.
    mutating func pieceFailed(
        _ piece: PieceIndex, senders: [Int: PeerAddress], digests: [[UInt8]], share: Double
    ) {
        var blocks: [Int: Block] = [:]
        for (index, address) in senders where index < digests.count {
            blocks[index] = Block(address: address, digest: digests[index])
        }
        guard Set(blocks.values.map(\.address)).count > 1 else { return }
        if watched[piece] == nil {
            order.append(piece)
            if order.count > Self.maxPieces { watched[order.removeFirst()] = nil }
        }
        // A second failure of the same piece: keep what is new, keep the first record of each block.
        var merged = watched[piece]?.blocks ?? [:]
        for (index, block) in blocks where merged[index] == nil { merged[index] = block }
        watched[piece] = (merged, share)
    }

    /// The piece passed with these block digests: who lied in its failed version, and who did not.
    mutating func piecePassed(_ piece: PieceIndex, digests: [[UInt8]]) -> Verdict? {
        guard let record = watched.removeValue(forKey: piece) else { return nil }
        order.removeAll { $0 == piece }
        var liars = Set<PeerAddress>()
        var senders = Set<PeerAddress>()
        for (index, block) in record.blocks where index < digests.count {
            senders.insert(block.address)
            if block.digest != digests[index] { liars.insert(block.address) }
        }
        return Verdict(liars: liars, cleared: senders.subtracting(liars), share: record.share)
    }

    /// The SHA-1 of each block of a piece held in `bytes`.
    static func digests(of bytes: UnsafeRawBufferPointer, blockLength: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: blockLength).map { start in
            Array(
                Insecure.SHA1.hash(
                    data: UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + blockLength, bytes.count)])))
        }
    }
}
