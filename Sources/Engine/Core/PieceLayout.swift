/// The geometry of a torrent's byte stream: pieces of a fixed length (the last one shorter) cut into
/// 16 KiB blocks (the last block of the last piece shorter).
///
/// All lengths derive from two numbers, the piece length and the total length, so a layout is cheap to
/// copy and to compare.
public struct PieceLayout: Hashable, Sendable {
    /// The block size every client requests: 16 KiB.
    public static let blockSize = 16_384

    /// The nominal piece length in bytes (every piece but the last has exactly this length).
    public let pieceLength: Int
    /// The total length of the byte stream in bytes, pad files included.
    public let totalLength: Int64
    /// The number of pieces: `ceil(totalLength / pieceLength)`, 0 for an empty torrent.
    public let pieceCount: Int
    /// The number of blocks of a full-length piece.
    public let blocksPerPiece: Int

    /// Creates the layout of a stream of `totalLength` bytes cut into pieces of `pieceLength` bytes.
    ///
    /// - Precondition: `pieceLength > 0` and `totalLength >= 0`.
    public init(pieceLength: Int, totalLength: Int64) {
        precondition(pieceLength > 0, "piece length must be positive")
        precondition(totalLength >= 0, "total length must not be negative")
        self.pieceLength = pieceLength
        self.totalLength = totalLength
        let length = Int64(pieceLength)
        self.pieceCount = Int((totalLength + length - 1) / length)
        self.blocksPerPiece = (pieceLength + Self.blockSize - 1) / Self.blockSize
    }

    /// The layout a parsed torrent describes.
    public init(_ metainfo: Metainfo) {
        self.init(pieceLength: metainfo.pieceLength, totalLength: metainfo.totalLength)
    }

    /// All piece indices, in order.
    public var pieces: [PieceIndex] { (0..<pieceCount).map { PieceIndex($0) } }

    /// The length of the last piece (equal to ``pieceLength`` when the total length is a multiple of
    /// it), or 0 for an empty torrent.
    public var lastPieceLength: Int {
        guard pieceCount > 0 else { return 0 }
        return Int(totalLength - Int64(pieceCount - 1) * Int64(pieceLength))
    }

    /// True when `piece` names a piece of this layout.
    public func contains(_ piece: PieceIndex) -> Bool { piece.value >= 0 && piece.value < pieceCount }

    /// The length of `piece` in bytes.
    public func length(of piece: PieceIndex) -> Int {
        precondition(contains(piece), "piece \(piece) out of range 0..<\(pieceCount)")
        return piece.value == pieceCount - 1 ? lastPieceLength : pieceLength
    }

    /// The offset of the first byte of `piece` in the torrent's byte stream.
    public func offset(of piece: PieceIndex) -> Int64 { Int64(piece.value) * Int64(pieceLength) }

    /// The piece holding the byte at `offset` of the stream.
    public func piece(containing offset: Int64) -> PieceIndex {
        precondition(offset >= 0 && offset < totalLength, "offset \(offset) outside the torrent")
        return PieceIndex(Int(offset / Int64(pieceLength)))
    }

    /// The number of blocks of `piece`.
    public func blockCount(in piece: PieceIndex) -> Int {
        (length(of: piece) + Self.blockSize - 1) / Self.blockSize
    }

    /// The length of `block` of `piece`: 16 KiB, or less for the piece's last block.
    public func blockLength(piece: PieceIndex, block: BlockIndex) -> Int {
        let count = blockCount(in: piece)
        precondition(block.value >= 0 && block.value < count, "block \(block) out of range 0..<\(count)")
        let begin = block.value * Self.blockSize
        return min(Self.blockSize, length(of: piece) - begin)
    }

    /// The request for `block` of `piece`.
    public func request(piece: PieceIndex, block: BlockIndex) -> BlockRequest {
        BlockRequest(
            piece: piece, begin: UInt32(block.value * Self.blockSize),
            length: UInt32(blockLength(piece: piece, block: block)))
    }

    /// All block requests of `piece`, in order.
    public func requests(in piece: PieceIndex) -> [BlockRequest] {
        (0..<blockCount(in: piece)).map { request(piece: piece, block: BlockIndex($0)) }
    }

    /// The block a request names, or `nil` unless the request is exactly one of this layout's blocks
    /// (block-aligned, the right length, inside the torrent). Use it to validate what peers send.
    public func block(for request: BlockRequest) -> BlockIndex? {
        guard contains(request.piece), Int(request.begin) % Self.blockSize == 0 else { return nil }
        let block = BlockIndex(Int(request.begin) / Self.blockSize)
        guard block.value < blockCount(in: request.piece) else { return nil }
        guard Int(request.length) == blockLength(piece: request.piece, block: block) else { return nil }
        return block
    }

    /// True when `begin..<begin+length` lies inside `piece` (any alignment): what a peer may request
    /// from us.
    public func isValidRange(piece: PieceIndex, begin: Int, length: Int) -> Bool {
        guard contains(piece), begin >= 0, length >= 0 else { return false }
        return begin <= self.length(of: piece) - length
    }
}
