import Engine
import Foundation

/// Where each piece of a torrent lies in the files of its test content: to tell which pieces a
/// download must not have fetched, and whether a piece's bytes are on disk.
struct PieceLayout {
    struct Slice {
        /// Index of the file in torrent order.
        let fileIndex: Int
        /// The content file.
        let file: TestContent.File
        /// Byte range within the file.
        let range: Range<Int>
    }

    let torrent: TestTorrent
    private let filesByIndex: [Int: TestContent.File]

    init(torrent: TestTorrent, content: TestContent) {
        self.torrent = torrent
        var map: [Int: TestContent.File] = [:]
        for file in content.files {
            if let index = try? torrent.fileIndex(of: file.path) { map[index] = file }
        }
        filesByIndex = map
    }

    /// The non-empty file slices piece `piece` covers, in stream order.
    func slices(ofPiece piece: Int) -> [Slice] {
        let length = Int64(torrent.metainfo.pieceLength)
        let start = Int64(piece) * length
        let end = min(start + length, torrent.metainfo.totalLength)
        return torrent.metainfo.files.enumerated().compactMap { index, entry in
            let lower = max(start, entry.offset)
            let upper = min(end, entry.offset + entry.length)
            guard lower < upper, let file = filesByIndex[index] else { return nil }
            return Slice(
                fileIndex: index, file: file, range: Int(lower - entry.offset)..<Int(upper - entry.offset))
        }
    }

    /// Paths of the files piece `piece` touches.
    func files(inPiece piece: Int) -> [String] { slices(ofPiece: piece).map(\.file.path) }

    /// The pieces every byte of which belongs to files not in `wanted` (indexes in torrent order).
    func piecesOnlyIn(skippedExcept wanted: Set<Int>) -> [Int] {
        (0..<torrent.metainfo.pieceCount).filter { piece in
            slices(ofPiece: piece).allSatisfy { !wanted.contains($0.fileIndex) }
        }
    }

    /// True when every byte of piece `piece` is on disk under `folder`, equal to the source.
    func pieceIsIntact(_ piece: Int, under folder: URL) -> Bool {
        slices(ofPiece: piece).allSatisfy { slice in
            guard let handle = FileHandle(forReadingAtPath: folder.appendingPathComponent(slice.file.path).path)
            else { return false }
            defer { try? handle.close() }
            guard (try? handle.seek(toOffset: UInt64(slice.range.lowerBound))) != nil,
                let data = try? handle.read(upToCount: slice.range.count), data.count == slice.range.count
            else { return false }
            return [UInt8](data) == TestContent.bytes(of: slice.file, range: slice.range)
        }
    }
}
