/// Places a torrent's files in its byte stream (each file's offset) and decides whether the two
/// halves of a hybrid torrent describe the same files in the same places.
///
/// A v1 list is laid out back to back; a v2 tree is laid out by ``TorrentFilesParser`` as it is read
/// (each non-empty file on a piece boundary), with the helpers here. Offsets never overflow: a sum
/// past `Int64.max` is ``MetainfoError/Category/invalidLength``, and a hybrid torrent whose halves
/// disagree is ``MetainfoError/Category/inconsistentFiles``.
enum FileLayout {
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

    // MARK: - Arithmetic that refuses to overflow

    /// `offset + length`, or ``MetainfoError/Category/invalidLength`` when that overflows.
    static func add(_ offset: Int64, _ length: Int64) throws -> Int64 {
        let (sum, overflow) = offset.addingReportingOverflow(length)
        guard !overflow else { throw MetainfoError(.invalidLength, "the torrent's total length is too large") }
        return sum
    }

    /// `offset` rounded up to a multiple of `pieceLength`, or ``MetainfoError/Category/invalidLength``
    /// when that overflows.
    static func alignUp(_ offset: Int64, _ pieceLength: Int) throws -> Int64 {
        let length = Int64(pieceLength)
        let remainder = offset % length
        return remainder == 0 ? offset : try add(offset, length - remainder)
    }

    private static func inconsistent(_ message: String) -> MetainfoError {
        MetainfoError(.inconsistentFiles, "the hybrid torrent's v1 and v2 parts disagree: \(message)")
    }
}
