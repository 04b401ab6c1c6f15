import Crypto

/// SHA-256 merkle trees of BEP 52.
///
/// A file's tree has one leaf per 16 KiB block (the SHA-256 of the block; the last block may be
/// shorter), padded with zero hashes up to a power of two. The `pieces root` is the tree's root;
/// the `piece layers` entry of a file is the layer whose nodes each cover one piece.
public enum MerkleTree {
    /// The leaf size of BEP 52 trees.
    public static let blockSize = 16384

    /// The hash of a subtree made only of padding, `levels` above the leaves: 32 zero bytes at
    /// level 0, then `SHA-256(pad || pad)` for each level up.
    public static func paddingHash(levels: Int) -> [UInt8] {
        var hash = [UInt8](repeating: 0, count: 32)
        for _ in 0..<max(levels, 0) { hash = Array(SHA256.hash(data: hash + hash)) }
        return hash
    }

    /// The root over `layer` (concatenated 32-byte hashes), padded with `padding` nodes up to a
    /// power of two. A single node is its own root. `layer.count` must be a positive multiple of 32.
    public static func root(ofLayer layer: [UInt8], padding: [UInt8]) -> [UInt8] {
        root(ofLayer: layer[...], padding: padding)
    }

    /// ``root(ofLayer:padding:)-([UInt8],_)`` over a slice, read in place.
    ///
    /// The nodes are combined as they come, like carries in a binary counter: a stack holds at
    /// most one pending subtree per level, so the work is linear and the memory logarithmic in the
    /// layer's size (a 16 MiB layer needs no copy). An odd node at any level pairs with the padding
    /// hash of that level, which is what padding the layer up to a power of two gives.
    public static func root(ofLayer layer: ArraySlice<UInt8>, padding: [UInt8]) -> [UInt8] {
        precondition(!layer.isEmpty && layer.count % 32 == 0, "a layer is a positive number of 32-byte hashes")
        precondition(padding.count == 32, "a padding node is a 32-byte hash")
        // Pending subtrees, levels strictly decreasing from the bottom of the stack (at most 64).
        var stack: [(level: Int, node: Node)] = []
        stack.reserveCapacity(64)
        layer.withUnsafeBytes { buffer in
            for offset in stride(from: 0, to: buffer.count, by: 32) {
                var node = (level: 0, node: Node(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 32])))
                while let last = stack.last, last.level == node.level {
                    stack.removeLast()
                    node = (node.level + 1, Node(parentOf: last.node, node.node))
                }
                stack.append(node)
            }
        }
        // Close the tree: the last pending subtree pairs with padding until it reaches the level
        // of the one before it, up to the single root.
        var node = stack.removeLast()
        var pad = padding.withUnsafeBytes { Node($0) }
        var padLevel = 0
        while !stack.isEmpty {
            while padLevel < node.level {
                pad = Node(parentOf: pad, pad)
                padLevel += 1
            }
            if stack[stack.count - 1].level == node.level {
                node = (node.level + 1, Node(parentOf: stack.removeLast().node, node.node))
            } else {
                node = (node.level + 1, Node(parentOf: node.node, pad))
            }
        }
        return node.node.bytes
    }

    /// One 32-byte node, held inline (no allocation per node).
    private struct Node {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        /// The node whose bytes are `bytes` (32 of them).
        init(_ bytes: UnsafeRawBufferPointer) {
            withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
        }

        /// `SHA-256(left || right)`.
        init(parentOf left: Node, _ right: Node) {
            var hasher = SHA256()
            withUnsafeBytes(of: left.words) { hasher.update(bufferPointer: $0) }
            withUnsafeBytes(of: right.words) { hasher.update(bufferPointer: $0) }
            hasher.finalize().withUnsafeBytes { digest in
                withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: digest) }
            }
        }

        var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }
    }

    /// The `pieces root` implied by a file's piece layer: the root over the layer padded with the
    /// hash of an all-padding piece.
    ///
    /// - Parameter pieceLength: a power of two, at least ``blockSize``.
    public static func root(ofPieceLayer layer: [UInt8], pieceLength: Int) -> [UInt8] {
        root(ofPieceLayer: layer[...], pieceLength: pieceLength)
    }

    /// ``root(ofPieceLayer:pieceLength:)-([UInt8],_)`` over a slice, read in place.
    public static func root(ofPieceLayer layer: ArraySlice<UInt8>, pieceLength: Int) -> [UInt8] {
        let levels = (pieceLength / blockSize).trailingZeroBitCount
        return root(ofLayer: layer, padding: paddingHash(levels: levels))
    }
}
