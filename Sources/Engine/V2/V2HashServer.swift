/// Answers the BEP 52 `hash request`s of a v2 or hybrid torrent's peers from the piece layers it holds.
///
/// Each file longer than a piece gets its ``V2HashTree`` the first time a peer asks for it (one pass
/// over its piece layer, then about twice the layer's bytes kept for the run), so the memory is bounded
/// by the torrent's own piece layers and each answer costs only the hashes it returns. A request for
/// the block layer needs the data: ``blockLayer(_:)`` says which pieces to read, and the session reads
/// them off its actor (``V2BlockLayerAnswer``). A request for a root that is not one of the torrent's
/// files, for a layer between the blocks and the pieces, out of range, or for a file whose piece
/// layer does not hash to its root is answered with `hash reject`.
///
/// It also names the hashes to ask a peer for to check a failed piece block by block
/// (``blockHashRequest(for:)``).
public struct V2HashServer: Sendable {
    /// A file we can answer for, by its `pieces root`.
    private struct File: Sendable {
        let length: Int64
        /// The torrent's piece the file starts at.
        let firstPiece: Int
        /// Its piece layer, for a file longer than a piece.
        let pieceLayer: ArraySlice<UInt8>?
    }

    private let files: [[UInt8]: File]
    /// The roots of the files, by their first piece, ascending.
    private let byFirstPiece: [(firstPiece: Int, root: [UInt8])]
    private let pieceLength: Int
    /// The trees built so far, by root; `nil` for a file whose layer did not check out.
    private var trees: [[UInt8]: V2HashTree?] = [:]

    /// The server of `metainfo`'s files; `nil` for a v1 torrent.
    public init?(metainfo: Metainfo) {
        guard metainfo.version != .v1 else { return nil }
        var files: [[UInt8]: File] = [:]
        for index in metainfo.files.indices where !metainfo.files.isPad(at: index) {
            let length = metainfo.files.length(at: index)
            guard length > 0, let root = metainfo.files[index].piecesRoot else { continue }
            let layer = length > Int64(metainfo.pieceLength) ? metainfo.pieceLayers[root].map { $0[...] } : nil
            let firstPiece = Int(metainfo.files[index].offset / Int64(metainfo.pieceLength))
            files[root] = File(length: length, firstPiece: firstPiece, pieceLayer: layer)
        }
        self.files = files
        self.byFirstPiece = files.map { ($0.value.firstPiece, $0.key) }.sorted { $0.firstPiece < $1.firstPiece }
        self.pieceLength = metainfo.pieceLength
    }

    /// The reply to `request`: `hashes`, or `hash reject` saying why in `refusal`.
    public mutating func answer(_ request: HashRequest) -> (reply: HashMessage, refusal: String?) {
        do throws(V2HashTree.Refusal) {
            let hashes = try tree(for: request.piecesRoot).answer(request)
            return (.hashes(request, hashes: hashes), nil)
        } catch {
            return (.reject(request), error.description)
        }
    }

    /// What a request for the block layer (base layer 0) needs read to be answered; `nil` for a
    /// request the tree answers or refuses at once (``answer(_:)``). A torrent of 16 KiB pieces has
    /// its block layer as its piece layer: the tree answers.
    ///
    /// - Throws: ``V2HashTree/Refusal`` for a foreign root or a range or proof out of the file's tree.
    public mutating func blockLayer(_ request: HashRequest) throws(V2HashTree.Refusal) -> V2BlockLayerAnswer? {
        guard request.baseLayer == 0, let file = files[request.piecesRoot] else { return nil }
        guard file.length > Int64(pieceLength) else {
            return try V2BlockLayerAnswer(
                request, piecesRoot: request.piecesRoot, piece: file.firstPiece, fileLength: file.length)
        }
        guard pieceLength > MerkleTree.blockSize else { return nil }
        let tree = try tree(for: request.piecesRoot)
        let pieceCount = Int((file.length + Int64(pieceLength) - 1) / Int64(pieceLength))
        return try V2BlockLayerAnswer(request, tree: tree, firstPiece: file.firstPiece, pieceCount: pieceCount)
    }

    /// The request for the block-layer hashes of `piece` (the torrent's index): its file's root, its
    /// leaves from the piece's first (as many as a piece has blocks, or for a file of one piece its
    /// blocks padded to a power of two), no proof (the piece's hash is trusted already). `nil` for a
    /// piece of one block, a piece in no file, or one of more than ``HashMessage/maxLength`` blocks.
    public func blockHashRequest(for piece: PieceIndex) -> HashRequest? {
        var low = 0
        var high = byFirstPiece.count
        while low < high {
            let middle = (low + high) / 2
            if byFirstPiece[middle].firstPiece <= piece.value { low = middle + 1 } else { high = middle }
        }
        guard low > 0, let file = files[byFirstPiece[low - 1].root] else { return nil }
        let filePiece = piece.value - file.firstPiece
        guard Int64(filePiece) * Int64(pieceLength) < file.length else { return nil }
        let leaves: Int
        if file.length <= Int64(pieceLength) {
            let blocks = (file.length + Int64(MerkleTree.blockSize) - 1) / Int64(MerkleTree.blockSize)
            leaves = 1 << V2HashTree.log2(ceilingPowerOfTwo: blocks)
        } else {
            leaves = pieceLength / MerkleTree.blockSize
        }
        guard leaves > 1, leaves <= Int(HashMessage.maxLength), filePiece * leaves <= Int(UInt32.max) else {
            return nil
        }
        return HashRequest(
            piecesRoot: byFirstPiece[low - 1].root, baseLayer: 0, index: UInt32(filePiece * leaves),
            length: UInt32(leaves), proofLayers: 0)
    }

    /// The tree of the file with root `root`, built on first use.
    private mutating func tree(for root: [UInt8]) throws(V2HashTree.Refusal) -> V2HashTree {
        guard let file = files[root] else { throw V2HashTree.Refusal(description: "no file has this pieces root") }
        guard let layer = file.pieceLayer else {
            throw V2HashTree.Refusal(description: "the file's hashes below its root need its data")
        }
        if let built = trees[root] {
            guard let built else { throw V2HashTree.Refusal(description: "the file's piece layer is inconsistent") }
            return built
        }
        let tree = V2HashTree(piecesRoot: root, pieceLayer: layer, fileLength: file.length, pieceLength: pieceLength)
        trees[root] = .some(tree)
        guard let tree else { throw V2HashTree.Refusal(description: "the file's piece layer is inconsistent") }
        return tree
    }
}
