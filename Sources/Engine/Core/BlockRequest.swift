/// One block of a piece, as named by the `request`, `cancel` and `reject request` messages.
public struct BlockRequest: Hashable, Sendable, CustomStringConvertible {
    /// The piece the block belongs to.
    public var piece: PieceIndex
    /// The byte offset of the block within its piece.
    public var begin: UInt32
    /// The number of bytes in the block; 16 KiB for every block but a piece's last one.
    public var length: UInt32

    /// Names a block by piece, offset and length.
    public init(piece: PieceIndex, begin: UInt32, length: UInt32) {
        self.piece = piece
        self.begin = begin
        self.length = length
    }

    /// `piece:begin+length`, e.g. `7:16384+16384`.
    public var description: String { "\(piece):\(begin)+\(length)" }

    /// Hashes the piece and the offset as one word: the request sets hash a key for every block sent
    /// and received (and again for each neighbour a removal moves), and one word costs the hasher less
    /// than three fields. The length is left out (a block's offset names it); `==` still compares it.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(truncatingIfNeeded: piece.value) << 32 | UInt64(begin))
    }
}

extension BlockRequest: Comparable {
    /// Orders by piece, then offset, then length.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.piece, lhs.begin, lhs.length) < (rhs.piece, rhs.begin, rhs.length)
    }
}
