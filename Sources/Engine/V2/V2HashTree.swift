/// The merkle tree of one v2 file above its piece layer (BEP 52), kept to answer `hash request`s.
///
/// Layers are counted from the 16 KiB leaves (layer 0) up to the root (layer ``layerCount``): the
/// piece layer is layer `log2(piece length / 16 KiB)`. The tree holds every layer from the piece
/// layer up, each padded to a power of two with the hash of an all-padding subtree of its height, so
/// the memory is about twice the file's piece layer (32 bytes a piece). Hashes below the piece layer
/// need the file's data and are not held.
public struct V2HashTree: Sendable {
    /// The file's `pieces root`.
    public let piecesRoot: [UInt8]
    /// The layer of the piece hashes (0 for 16 KiB pieces).
    public let pieceLayer: Int
    /// The layer of the root: `log2` of the file's leaf count padded to a power of two.
    public let layerCount: Int
    /// `layers[j]`: the nodes of layer `pieceLayer + j`, concatenated; the last is the root.
    private let layers: [[UInt8]]

    /// Why a request cannot be answered from the tree: the peer gets a `hash reject`.
    public struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        /// A sentence for logs.
        public let description: String
    }

    /// The tree of a file of `fileLength` bytes whose piece layer is `pieceLayer` (one 32-byte hash per
    /// piece), checked against `piecesRoot`; `nil` when the layer does not fit the file or does not
    /// hash to the root.
    ///
    /// - Parameter pieceLength: a power of two, at least 16 KiB.
    public init?(piecesRoot: [UInt8], pieceLayer hashes: ArraySlice<UInt8>, fileLength: Int64, pieceLength: Int) {
        let blockSize = Int64(MerkleTree.blockSize)
        guard piecesRoot.count == 32, pieceLength >= MerkleTree.blockSize, pieceLength.nonzeroBitCount == 1,
            fileLength > Int64(pieceLength)
        else { return nil }
        let pieces = Int((fileLength + Int64(pieceLength) - 1) / Int64(pieceLength))
        guard hashes.count == pieces * 32 else { return nil }
        let blocks = (fileLength + blockSize - 1) / blockSize
        let leafLayers = Self.log2(ceilingPowerOfTwo: blocks)
        let pieceLayer = (pieceLength / MerkleTree.blockSize).trailingZeroBitCount
        // The piece layer's width padded to a power of two (at least two nodes: the file has two pieces).
        let width = 1 << (leafLayers - pieceLayer)
        guard width >= pieces else { return nil }
        var layer = Array(hashes)
        layer.reserveCapacity(width * 32)
        var padding = MerkleTree.paddingHash(levels: pieceLayer)
        while layer.count < width * 32 { layer += padding }
        var layers = [layer]
        while layer.count > 32 {
            var parent: [UInt8] = []
            parent.reserveCapacity(layer.count / 2)
            for offset in stride(from: 0, to: layer.count, by: 64) {
                parent += MerkleTree.root(ofLayer: layer[offset..<offset + 64], padding: padding)
            }
            padding = MerkleTree.root(ofLayer: padding + padding, padding: padding)
            layers.append(parent)
            layer = parent
        }
        guard layer == piecesRoot else { return nil }
        self.piecesRoot = piecesRoot
        self.pieceLayer = pieceLayer
        self.layerCount = leafLayers
        self.layers = layers
    }

    /// The hashes answering `request` (which names this file's root): `length` hashes of its base
    /// layer from `index` (the padding nodes past the file's end included), then the uncles proving
    /// them, lowest first.
    ///
    /// With `2^k` hashes asked (k ≥ 1), the uncles are the siblings of the subtree's root and of its
    /// ancestors from layer `base + k` up to layer `base + proof layers` (none when that is below
    /// `base + k`), as the reference client answers; for a single hash (k = 0) they are the
    /// siblings from the hash's own up to layer `base + proof layers - 1`. Either way the answer
    /// holds at most `length + proof layers` hashes, what ``HashMessage`` accepts.
    ///
    /// - Throws: ``Refusal`` for a base layer below the piece layer (it needs the data), at or above
    ///   the root, a range past the layer, or proof layers reaching the root.
    public func answer(_ request: HashRequest) throws(Refusal) -> [UInt8] {
        let base = Int(request.baseLayer)
        let index = Int(request.index)
        let length = Int(request.length)
        let proofLayers = Int(request.proofLayers)
        guard base >= pieceLayer else {
            throw Refusal(description: "layer \(base) is below the piece layer \(pieceLayer)")
        }
        guard base < layerCount else { throw Refusal(description: "layer \(base) is not below the root") }
        let nodes = layers[base - pieceLayer]
        guard length > 0, index >= 0, index + length <= nodes.count / 32 else {
            throw Refusal(description: "hashes \(index)..<\(index + length) past layer \(base)'s \(nodes.count / 32)")
        }
        guard proofLayers < layerCount - base else {
            throw Refusal(description: "\(proofLayers) proof layers from layer \(base) reach the root")
        }
        var hashes = Array(nodes[index * 32..<(index + length) * 32])
        let k = length.trailingZeroBitCount
        let top = k == 0 ? base + proofLayers - 1 : base + proofLayers
        var layer = base + k
        while layer <= top {
            let sibling = (index >> (layer - base)) ^ 1
            let row = layers[layer - pieceLayer]
            hashes += row[sibling * 32..<sibling * 32 + 32]
            layer += 1
        }
        return hashes
    }

    /// Node `index` of layer `layer` (from the piece layer up to the root, padding nodes included).
    ///
    /// - Precondition: the node is in the tree (`index < width(ofLayer: layer)`).
    public func node(layer: Int, index: Int) -> ArraySlice<UInt8> {
        let row = layers[layer - pieceLayer]
        return row[row.startIndex + index * 32..<row.startIndex + index * 32 + 32]
    }

    /// The number of hashes in layer `layer` (0 below the piece layer, which is not held).
    public func width(ofLayer layer: Int) -> Int {
        guard layer >= pieceLayer, layer - pieceLayer < layers.count else { return 0 }
        return layers[layer - pieceLayer].count / 32
    }

    /// `log2` of the least power of two at least `count` (`count` ≥ 1).
    static func log2(ceilingPowerOfTwo count: Int64) -> Int {
        count <= 1 ? 0 : 64 - (count - 1).leadingZeroBitCount
    }
}
