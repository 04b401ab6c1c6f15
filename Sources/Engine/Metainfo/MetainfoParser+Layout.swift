/// Placing files in the torrent's byte stream, checking that the two halves of a hybrid torrent
/// agree, and verifying v2 piece layers.
extension MetainfoParser {
    /// v1: files back to back, in list order.
    static func layOutV1(_ files: inout TorrentFiles) throws {
        var offset: Int64 = 0
        for index in files.indices {
            files.setOffset(offset, at: index)
            offset = try add(offset, files.length(at: index))
        }
    }

    /// Hybrid: the v1 list (with its pad files) must describe exactly the files of the v2 tree, in
    /// the same order, with the same paths, lengths, attributes and symlink targets, and place each
    /// non-empty file where the v2 piece space puts it. The tail pad file is optional (older
    /// libtorrent versions did not write it). The v1 list then carries each file's `pieces root`.
    static func layOutHybrid(_ v1: inout TorrentFiles, v2: TorrentFiles, pieceLength: Int) throws {
        let realCount = v1.countWithoutPads
        let v2Files = v2.indices.filter { !v2.isPad(at: $0) }
        guard realCount == v2Files.count else {
            throw inconsistent("the v1 file list has \(realCount) files and the v2 file tree \(v2Files.count)")
        }
        var v2Offset: Int64 = 0
        var v2Index = 0
        for index in v1.indices where !v1.isPad(at: index) {
            let old = v1[index]
            let new = v2[v2Files[v2Index]]
            v2Index += 1
            guard old.relativePath == new.relativePath, old.length == new.length, old.attributes == new.attributes,
                old.symlinkTarget == new.symlinkTarget
            else {
                throw inconsistent("the v1 and v2 descriptions of \(old.displayPath) differ")
            }
            if new.length > 0 {
                v2Offset = try alignUp(v2Offset, pieceLength)
                guard old.offset == v2Offset else {
                    throw inconsistent("\(old.displayPath) does not start on a piece boundary in the v1 file list")
                }
                v2Offset += new.length
            }
            v1.setPiecesRoot(from: v2, at: v2Files[v2Index - 1], to: index)
        }
        let v1Total = v1.isEmpty ? 0 : v1.offset(at: v1.count - 1) + v1.length(at: v1.count - 1)
        guard v1Total >= v2Offset, v1Total <= (try alignUp(v2Offset, pieceLength)) else {
            throw inconsistent("the v1 file list is \(v1Total) bytes long; the v2 file tree needs \(v2Offset)")
        }
    }

    /// Checks the `piece layers` dictionary (BEP 52) and returns the valid layers by pieces root.
    ///
    /// Layers may be missing (the torrent is then still valid, like a magnet link: peers send them),
    /// but every layer present must belong to a file, hold one 32-byte hash per piece of that file,
    /// and hash up to the file's `pieces root`.
    func verifyPieceLayers(
        _ node: BencodeNode?, files: TorrentFiles, pieceLength: Int
    ) throws -> [[UInt8]: [UInt8]] {
        guard let node else { return [:] }
        guard let entries = node.entries else {
            throw MetainfoError(.invalidPieceLayer, "the torrent's piece layers are not a dictionary")
        }
        // Pieces per root; identical files share a root, and must then have the same length.
        var piecesByRoot: [[UInt8]: Int64] = [:]
        for file in files where !file.isPad {
            guard let root = file.piecesRoot else { continue }
            let pieces = (file.length + Int64(pieceLength) - 1) / Int64(pieceLength)
            if let known = piecesByRoot[root], known != pieces {
                throw MetainfoError(.inconsistentFiles, "two files share a pieces root but differ in length")
            }
            piecesByRoot[root] = pieces
        }
        var layers: [[UInt8]: [UInt8]] = [:]
        for entry in entries {
            let root = Array(entry.key)
            guard let pieces = piecesByRoot[root] else {
                throw MetainfoError(.invalidPieceLayer, "a piece layer belongs to no file of the torrent")
            }
            guard let layer = entry.value.bytes, Int64(layer.count) == pieces * 32 else {
                throw MetainfoError(
                    .invalidPieceLayer,
                    "a piece layer does not hold one 32-byte hash for each of its file's \(pieces) pieces")
            }
            // Checked in place; copied only once it is known good.
            guard MerkleTree.root(ofPieceLayer: layer, pieceLength: pieceLength) == root else {
                throw MetainfoError(.invalidPieceLayer, "a piece layer does not hash to its file's pieces root")
            }
            layers[root] = Array(layer)
        }
        return layers
    }

    // MARK: - Arithmetic that refuses to overflow

    static func add(_ offset: Int64, _ length: Int64) throws -> Int64 {
        let (sum, overflow) = offset.addingReportingOverflow(length)
        guard !overflow else { throw MetainfoError(.invalidLength, "the torrent's total length is too large") }
        return sum
    }

    static func alignUp(_ offset: Int64, _ pieceLength: Int) throws -> Int64 {
        let length = Int64(pieceLength)
        let remainder = offset % length
        return remainder == 0 ? offset : try add(offset, length - remainder)
    }

    private static func inconsistent(_ message: String) -> MetainfoError {
        MetainfoError(.inconsistentFiles, "the hybrid torrent's v1 and v2 parts disagree: \(message)")
    }
}
