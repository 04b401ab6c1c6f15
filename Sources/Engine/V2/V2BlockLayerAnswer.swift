/// How a BEP 52 `hash request` for a file's block layer (base layer 0: one SHA-256 leaf per 16 KiB
/// block) is answered from the data we hold: which of the torrent's pieces must be read, and the
/// answer made from their leaves.
///
/// Only whole aligned ranges of one file are asked for (the codec's rules: `length` a power of two of
/// at most 8,192 dividing `index`). The pieces read are those of the file the range covers; leaves
/// past the file's end are zero hashes, as BEP 52 pads them. Each piece's leaves are checked against
/// the piece's hash we trust (its node of the piece layer, or the `pieces root` of a file of one
/// piece) before anything is sent, so data changed on disk behind our back is refused, never served.
/// The uncles below the piece layer are folded from those leaves, the ones above it come from the
/// file's ``V2HashTree``.
public struct V2BlockLayerAnswer: Sendable {
    /// The request answered.
    public let request: HashRequest
    /// The torrent's pieces whose data the answer needs, in order (empty for a range wholly in the
    /// padding past the file's end).
    public let pieces: Range<Int>
    /// Leaves per piece: the piece length in blocks, or for a file of one piece its block count
    /// padded to a power of two.
    public let leavesPerPiece: Int
    /// The file-relative index of the first leaf of the pieces spanned (read or padding).
    let spanStart: Int
    /// How many leaves the spanned pieces hold, padding pieces included.
    let spanCount: Int
    /// The hash each piece read must fold to, 32 bytes each.
    let expected: [UInt8]
    /// The file's tree above its piece layer; `nil` for a file of one piece.
    let tree: V2HashTree?
    /// Layers below the piece layer (`log2(leavesPerPiece)`).
    let subtreeLayers: Int

    /// The bytes of data the answer reads, for the requester's budget.
    public var dataBytes: Int { pieces.count * leavesPerPiece * MerkleTree.blockSize }

    /// The plan for `request` (base layer 0) on a file longer than a piece, whose tree is `tree` and
    /// whose first piece is the torrent's piece `firstPiece`, `pieceCount` pieces long.
    ///
    /// - Throws: ``V2HashTree/Refusal`` for a range past the padded leaf layer or proof layers
    ///   reaching the root.
    public init(_ request: HashRequest, tree: V2HashTree, firstPiece: Int, pieceCount: Int) throws(V2HashTree.Refusal) {
        let leavesPerPiece = 1 << tree.pieceLayer
        let index = Int(request.index)
        let length = Int(request.length)
        try Self.check(request, leafCount: 1 << tree.layerCount, rootLayer: tree.layerCount)
        let first = index / leavesPerPiece
        let end = (index + length + leavesPerPiece - 1) / leavesPerPiece
        // A range wholly in the padding past the file's last piece reads nothing (an empty range at
        // the file's end, never past it).
        let lower = min(first, pieceCount)
        let read = lower..<max(lower, min(end, pieceCount))
        var expected: [UInt8] = []
        for piece in read { expected += tree.node(layer: tree.pieceLayer, index: piece) }
        self.init(
            request: request, pieces: firstPiece + read.lowerBound..<firstPiece + read.upperBound,
            leavesPerPiece: leavesPerPiece, spanStart: first * leavesPerPiece,
            spanCount: (end - first) * leavesPerPiece, expected: expected, tree: tree,
            subtreeLayers: tree.pieceLayer)
    }

    /// The plan for `request` (base layer 0) on a file of one piece (the torrent's piece `piece`) of
    /// `fileLength` bytes whose root is `piecesRoot`.
    ///
    /// - Throws: ``V2HashTree/Refusal`` for a range past the padded leaf layer or proof layers
    ///   reaching the root (a file of one block: its leaf is its root).
    public init(_ request: HashRequest, piecesRoot: [UInt8], piece: Int, fileLength: Int64) throws(V2HashTree.Refusal) {
        let blocks = (fileLength + Int64(MerkleTree.blockSize) - 1) / Int64(MerkleTree.blockSize)
        let rootLayer = V2HashTree.log2(ceilingPowerOfTwo: blocks)
        try Self.check(request, leafCount: 1 << rootLayer, rootLayer: rootLayer)
        self.init(
            request: request, pieces: piece..<piece + 1, leavesPerPiece: 1 << rootLayer, spanStart: 0,
            spanCount: 1 << rootLayer, expected: piecesRoot, tree: nil, subtreeLayers: rootLayer)
    }

    private init(
        request: HashRequest, pieces: Range<Int>, leavesPerPiece: Int, spanStart: Int, spanCount: Int,
        expected: [UInt8], tree: V2HashTree?, subtreeLayers: Int
    ) {
        self.request = request
        self.pieces = pieces
        self.leavesPerPiece = leavesPerPiece
        self.spanStart = spanStart
        self.spanCount = spanCount
        self.expected = expected
        self.tree = tree
        self.subtreeLayers = subtreeLayers
    }

    private static func check(_ request: HashRequest, leafCount: Int, rootLayer: Int) throws(V2HashTree.Refusal) {
        let index = Int(request.index)
        let length = Int(request.length)
        guard request.baseLayer == 0 else { throw V2HashTree.Refusal(description: "not the block layer") }
        guard length > 0, index + length <= leafCount else {
            throw V2HashTree.Refusal(description: "leaves \(index)..<\(index + length) past the file's \(leafCount)")
        }
        guard Int(request.proofLayers) < rootLayer else {
            throw V2HashTree.Refusal(description: "\(request.proofLayers) proof layers from the leaves reach the root")
        }
    }

    /// The leaves of one piece's `data` (its data bytes only, pad excluded), padded with zero hashes
    /// to `leafCount`.
    public static func leaves(of data: UnsafeRawBufferPointer, leafCount: Int) -> [UInt8] {
        var leaves = data.isEmpty ? [] : V2PieceRoots.blockHashes(of: data)
        if leaves.count < leafCount * 32 { leaves += [UInt8](repeating: 0, count: leafCount * 32 - leaves.count) }
        return leaves
    }

    /// The `hashes` to send: `length` leaves from `index`, then the uncles proving them, lowest first
    /// (as ``V2HashTree/answer(_:)`` counts them).
    ///
    /// - Parameter leaves: the leaves of ``pieces``, ``leavesPerPiece`` for each, in order.
    /// - Throws: ``V2HashTree/Refusal`` when a piece's leaves do not fold to its hash (its data changed
    ///   on disk) or are not as many as planned.
    public func answer(leaves: [UInt8]) throws(V2HashTree.Refusal) -> [UInt8] {
        let pieceBytes = leavesPerPiece * 32
        guard leaves.count == pieces.count * pieceBytes else {
            let planned = pieces.count * leavesPerPiece
            throw V2HashTree.Refusal(description: "\(leaves.count / 32) leaves read, \(planned) planned")
        }
        let zero = MerkleTree.paddingHash(levels: 0)
        for offset in stride(from: 0, to: leaves.count, by: pieceBytes) {
            let root = MerkleTree.root(ofLayer: leaves[offset..<offset + pieceBytes], padding: zero)
            let piece = offset / pieceBytes
            guard root[...] == expected[piece * 32..<piece * 32 + 32] else {
                throw V2HashTree.Refusal(
                    description: "the data of piece \(pieces.lowerBound + piece) no longer matches its hash")
            }
        }
        var span = leaves
        if span.count < spanCount * 32 { span += [UInt8](repeating: 0, count: spanCount * 32 - span.count) }
        let index = Int(request.index)
        let length = Int(request.length)
        var hashes = Array(span[(index - spanStart) * 32..<(index - spanStart + length) * 32])
        let k = length.trailingZeroBitCount
        let top = k == 0 ? Int(request.proofLayers) - 1 : Int(request.proofLayers)
        var layer = k
        while layer <= top {
            let sibling = (index >> layer) ^ 1
            if layer < subtreeLayers {
                // Within the piece the range lies in: fold its leaves.
                let start = (sibling << layer) - spanStart
                hashes += MerkleTree.root(ofLayer: span[start * 32..<(start + (1 << layer)) * 32], padding: zero)
            } else if let tree {
                hashes += tree.node(layer: layer, index: sibling)
            }
            layer += 1
        }
        return hashes
    }
}
