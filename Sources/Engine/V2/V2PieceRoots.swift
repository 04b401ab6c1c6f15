import Crypto

/// What each piece of a v2 or hybrid torrent must hash to on its v2 side (BEP 52).
///
/// The torrent's piece space is the aligned one of ``Metainfo/files``: every file starts on a piece
/// boundary and the gap after it is a pad file, never written nor sent. A piece therefore holds the
/// data of one file (then pad). Its v2 hash is the merkle root of its 16 KiB blocks' SHA-256 leaves:
///
/// - for a file of more than one piece, over the piece's full leaf count (`piece length / 16 KiB`),
///   leaves past the file's end being zero hashes, compared with the file's entry of `piece layers`;
/// - for a file of at most one piece, over its leaves padded with zero hashes to a power of two,
///   compared with the file's `pieces root`.
///
/// Memory: 32 bytes a piece plus two integers a file; lookups are a binary search over the files.
public struct V2PieceRoots: Sendable {
    /// Why a torrent's v2 pieces cannot be checked.
    public struct Missing: Error, Sendable, CustomStringConvertible {
        /// Which file lacks its piece layer.
        public let file: String
        /// A sentence for the user.
        public var description: String {
            "the piece layer of \(file) is missing from the torrent"
        }
    }

    /// The expected root of every piece, 32 bytes each (zeros for pieces holding only pad).
    private let roots: [UInt8]
    /// The first piece of each non-empty data file, ascending.
    private let firstPieces: [Int]
    /// The length of each of those files.
    private let lengths: [Int64]
    /// The piece length.
    public let pieceLength: Int

    /// The roots of `metainfo`'s pieces; `nil` for a v1 torrent.
    ///
    /// - Throws: ``Missing`` when a file longer than a piece has no piece layer.
    public init?(metainfo: Metainfo) throws {
        guard metainfo.version != .v1 else { return nil }
        let pieceLength = metainfo.pieceLength
        var roots = [UInt8](repeating: 0, count: metainfo.pieceCount * 32)
        var firstPieces: [Int] = []
        var lengths: [Int64] = []
        for index in metainfo.files.indices where !metainfo.files.isPad(at: index) {
            let length = metainfo.files.length(at: index)
            let file = metainfo.files[index]
            guard length > 0, let root = file.piecesRoot else { continue }
            let first = Int(file.offset / Int64(pieceLength))
            let count = Int((length + Int64(pieceLength) - 1) / Int64(pieceLength))
            let hashes: ArraySlice<UInt8>
            if count == 1 {
                hashes = root[...]
            } else {
                guard let layer = metainfo.pieceLayers[root], layer.count == count * 32 else {
                    throw Missing(file: file.displayPath)
                }
                hashes = layer[...]
            }
            guard (first + count) * 32 <= roots.count else { continue }
            roots.replaceSubrange(first * 32..<(first + count) * 32, with: hashes)
            firstPieces.append(first)
            lengths.append(length)
        }
        self.roots = roots
        self.firstPieces = firstPieces
        self.lengths = lengths
        self.pieceLength = pieceLength
    }

    /// The expected 32-byte root of `piece`.
    public func expected(_ piece: PieceIndex) -> ArraySlice<UInt8> {
        roots[piece.value * 32..<piece.value * 32 + 32]
    }

    /// The number of data bytes of `piece` (the rest is pad) and the leaf count its tree is padded to;
    /// `nil` for a piece in no data file.
    public func shape(of piece: PieceIndex) -> (dataLength: Int, leafCount: Int)? {
        // The last file starting at or before the piece.
        var low = 0
        var high = firstPieces.count
        while low < high {
            let middle = (low + high) / 2
            if firstPieces[middle] <= piece.value { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let file = low - 1
        let offset = Int64(piece.value - firstPieces[file]) * Int64(pieceLength)
        guard offset < lengths[file] else { return nil }
        let dataLength = Int(min(Int64(pieceLength), lengths[file] - offset))
        let blocks = (dataLength + MerkleTree.blockSize - 1) / MerkleTree.blockSize
        if lengths[file] <= Int64(pieceLength) {
            var leafCount = 1
            while leafCount < blocks { leafCount *= 2 }
            return (dataLength, leafCount)
        }
        return (dataLength, pieceLength / MerkleTree.blockSize)
    }

    /// True when `data` (the piece as stored, pad included) is `piece`'s v2 content.
    public func matches(_ piece: PieceIndex, data: UnsafeRawBufferPointer) -> Bool {
        guard piece.value >= 0, piece.value < roots.count / 32, let shape = shape(of: piece),
            shape.dataLength <= data.count
        else { return false }
        let root = Self.root(
            of: UnsafeRawBufferPointer(rebasing: data[0..<shape.dataLength]), leafCount: shape.leafCount)
        return root.elementsEqual(expected(piece))
    }

    /// The merkle root of `data`'s 16 KiB blocks, their leaves padded with zero hashes to `leafCount`
    /// (at least the block count).
    public static func root(of data: UnsafeRawBufferPointer, leafCount: Int) -> [UInt8] {
        let leaves = blockHashes(of: data)
        let padded = leaves + [UInt8](repeating: 0, count: max(0, leafCount * 32 - leaves.count))
        return MerkleTree.root(ofLayer: padded, padding: MerkleTree.paddingHash(levels: 0))
    }

    /// The SHA-256 of each 16 KiB block of `data` (the last may be shorter), concatenated.
    public static func blockHashes(of data: UnsafeRawBufferPointer) -> [UInt8] {
        var leaves: [UInt8] = []
        leaves.reserveCapacity(max(1, (data.count + MerkleTree.blockSize - 1) / MerkleTree.blockSize) * 32)
        var start = 0
        repeat {
            let end = min(start + MerkleTree.blockSize, data.count)
            leaves += SHA256.hash(data: UnsafeRawBufferPointer(rebasing: data[start..<end]))
            start = end
        } while start < data.count
        return leaves
    }
}
