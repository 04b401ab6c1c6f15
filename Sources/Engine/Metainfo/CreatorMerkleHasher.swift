import Crypto
import Foundation

/// The BEP 52 hashes of a list of files, computed on several threads: each file's `pieces root`
/// and piece layer and, for a hybrid torrent, the SHA-1 of every v1 piece.
///
/// In a v2 (and hybrid) torrent every file starts on a piece boundary, so the work splits into
/// units of one piece of one file. A unit reads its bytes with `pread` into one piece-sized buffer,
/// hashes each 16 KiB block with SHA-256 (the leaves) and folds them into the piece's node; a
/// hybrid unit also takes the SHA-1 of the same bytes followed by the zeros of the pad file after
/// them. Memory stays at one piece per thread whatever the content size.
///
/// A file's tree has its leaves padded with zero hashes up to a power of two. For a file of one
/// piece or less, that tree's root is the `pieces root` and there is no piece layer. For a longer
/// file, each piece's node covers the piece's full leaf count (the last piece's missing leaves are
/// zero hashes), the piece layer is those nodes, and the root is the layer's root padded with the
/// hash of an all-padding piece (``MerkleTree/root(ofPieceLayer:pieceLength:)``).
struct CreatorMerkleHasher {
    /// The v2 hashes of one file.
    struct FileHashes: Equatable {
        /// `pieces root`; `nil` for an empty file.
        var piecesRoot: [UInt8]?
        /// The piece layer (32 bytes a piece); empty for a file of at most one piece.
        var pieceLayer: [UInt8]
    }

    /// What hashing gives.
    struct Result {
        /// One entry per file, in order.
        var files: [FileHashes]
        /// For a hybrid torrent, the concatenated 20-byte SHA-1 of every v1 piece (pad files included).
        var v1Pieces: [UInt8]?
    }

    /// One piece of one file.
    private struct Unit {
        var file: Int
        var offset: Int64
        var length: Int
    }

    let files: [CreatorContent.File]
    let pieceLength: Int
    /// True to compute the v1 piece hashes as well.
    let hybrid: Bool
    /// True when the v1 side pads each file's last piece with zeros (a multi-file hybrid; a single
    /// file's last v1 piece stays short).
    let padsLastPiece: Bool
    private let units: [Unit]

    init(files: [CreatorContent.File], pieceLength: Int, hybrid: Bool, padsLastPiece: Bool) {
        self.files = files
        self.pieceLength = pieceLength
        self.hybrid = hybrid
        self.padsLastPiece = padsLastPiece
        var units: [Unit] = []
        for (index, file) in files.enumerated() {
            var offset: Int64 = 0
            while offset < file.length {
                let length = Int(min(Int64(pieceLength), file.length - offset))
                units.append(Unit(file: index, offset: offset, length: length))
                offset += Int64(length)
            }
        }
        self.units = units
    }

    /// The number of pieces of the aligned layout (each file starting on a piece boundary).
    var pieceCount: Int { units.count }

    /// The number of pieces of a file of `length` bytes.
    private func piecesOf(_ file: Int) -> Int {
        Int((files[file].length + Int64(pieceLength) - 1) / Int64(pieceLength))
    }

    /// Hashes everything on `threads` threads.
    func hashAll(threads: Int) throws -> Result {
        let unitCount = units.count
        let nodes = DigestBuffer(count: unitCount * 32)
        defer { nodes.deallocate() }
        let sha1 = DigestBuffer(count: hybrid ? unitCount * 20 : 0)
        defer { sha1.deallocate() }
        let failure = FirstFailure()
        let runCount = max(1, min(unitCount, threads * 4))
        DispatchQueue.concurrentPerform(iterations: runCount) { run in
            do {
                try hash(units: unitCount * run / runCount..<unitCount * (run + 1) / runCount, nodes: nodes, sha1: sha1)
            } catch {
                failure.record(error)
            }
        }
        if let error = failure.error { throw error }

        var result: [FileHashes] = []
        result.reserveCapacity(files.count)
        var unit = 0
        for index in files.indices {
            let count = piecesOf(index)
            switch count {
            case 0:
                result.append(FileHashes(piecesRoot: nil, pieceLayer: []))
            case 1:
                result.append(FileHashes(piecesRoot: nodes.bytes(at: unit * 32, count: 32), pieceLayer: []))
            default:
                let layer = nodes.bytes(at: unit * 32, count: count * 32)
                result.append(
                    FileHashes(
                        piecesRoot: MerkleTree.root(ofPieceLayer: layer, pieceLength: pieceLength), pieceLayer: layer))
            }
            unit += count
        }
        return Result(files: result, v1Pieces: hybrid ? sha1.bytes : nil)
    }

    /// Hashes `range` of the units in order.
    private func hash(units range: Range<Int>, nodes: DigestBuffer, sha1: DigestBuffer) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceLength, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let leavesPerPiece = pieceLength / MerkleTree.blockSize
        var leaves = [UInt8](repeating: 0, count: leavesPerPiece * 32)
        var reader = FileReader()
        defer { reader.close() }
        for index in range {
            let unit = units[index]
            let file = files[unit.file]
            try reader.read(
                file, at: unit.offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<unit.length]))
            let blocks = (unit.length + MerkleTree.blockSize - 1) / MerkleTree.blockSize
            for block in 0..<blocks {
                let start = block * MerkleTree.blockSize
                let end = min(start + MerkleTree.blockSize, unit.length)
                let digest = SHA256.hash(data: UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
                leaves.withUnsafeMutableBytes { leafBytes in
                    digest.withUnsafeBytes { leafBytes[block * 32..<block * 32 + 32].copyBytes(from: $0) }
                }
            }
            // A file of one piece: its own tree, leaves padded to a power of two. A piece of a longer
            // file: the full leaf count of a piece, the missing leaves zero hashes.
            let isOnlyPiece = piecesOf(unit.file) == 1
            let leafCount = isOnlyPiece ? blocks : leavesPerPiece
            for byte in blocks * 32..<leafCount * 32 { leaves[byte] = 0 }
            let node = MerkleTree.root(ofLayer: leaves[0..<leafCount * 32], padding: MerkleTree.paddingHash(levels: 0))
            nodes.store(node, at: index * 32)

            if hybrid {
                // The piece's bytes, then the pad file's zeros up to the piece length.
                let hashed = padsLastPiece ? pieceLength : unit.length
                if hashed > unit.length {
                    UnsafeMutableRawBufferPointer(rebasing: buffer[unit.length..<hashed]).initializeMemory(
                        as: UInt8.self, repeating: 0)
                }
                sha1.store(
                    Insecure.SHA1.hash(data: UnsafeRawBufferPointer(rebasing: buffer[0..<hashed])), at: index * 20)
            }
        }
    }
}
