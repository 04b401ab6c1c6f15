/// One block of a piece as it travels in `request`, `cancel` and `reject` messages: the piece, the
/// byte offset inside the piece, and the length (16 KiB except for the torrent's very last block).
public struct BlockRequest: Hashable, Sendable, CustomStringConvertible {
    /// The piece.
    public var piece: PieceIndex
    /// Offset of the first byte inside the piece.
    public var begin: UInt32
    /// Number of bytes.
    public var length: UInt32

    /// Creates a request.
    public init(piece: PieceIndex, begin: UInt32, length: UInt32) {
        self.piece = piece
        self.begin = begin
        self.length = length
    }

    /// `piece:begin+length`, for logs.
    public var description: String { "\(piece.value):\(begin)+\(length)" }
}
