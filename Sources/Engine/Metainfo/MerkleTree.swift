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
        precondition(!layer.isEmpty && layer.count % 32 == 0, "a layer is a positive number of 32-byte hashes")
        precondition(padding.count == 32, "a padding node is a 32-byte hash")
        // Hash in place: each level overwrites the front of the buffer with its parents.
        var nodes = layer
        var count = layer.count / 32
        var pad = padding
        nodes.withUnsafeMutableBytes { buffer in
            while count > 1 {
                let parents = (count + 1) / 2
                for parent in 0..<parents {
                    let left = UnsafeRawBufferPointer(rebasing: buffer[parent * 64..<parent * 64 + 32])
                    var hasher = SHA256()
                    hasher.update(bufferPointer: left)
                    if parent * 2 + 1 < count {
                        hasher.update(
                            bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[parent * 64 + 32..<parent * 64 + 64])
                        )
                    } else {
                        pad.withUnsafeBytes { hasher.update(bufferPointer: $0) }
                    }
                    hasher.finalize().withUnsafeBytes { digest in
                        UnsafeMutableRawBufferPointer(rebasing: buffer[parent * 32..<parent * 32 + 32]).copyMemory(
                            from: digest)
                    }
                }
                count = parents
                pad = Array(SHA256.hash(data: pad + pad))
            }
        }
        return Array(nodes.prefix(32))
    }

    /// The `pieces root` implied by a file's piece layer: the root over the layer padded with the
    /// hash of an all-padding piece.
    ///
    /// - Parameter pieceLength: a power of two, at least ``blockSize``.
    public static func root(ofPieceLayer layer: [UInt8], pieceLength: Int) -> [UInt8] {
        let levels = (pieceLength / blockSize).trailingZeroBitCount
        return root(ofLayer: layer, padding: paddingHash(levels: levels))
    }
}
