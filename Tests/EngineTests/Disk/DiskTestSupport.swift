import Foundation
import Glibc

@testable import Engine

/// Builds a file list from `(path, length)` pairs, computing offsets; paths use `/`.
func makeFiles(_ entries: [(String, Int64)], pads: Set<Int> = [], links: [Int: String] = [:]) -> TorrentFiles {
    var offset: Int64 = 0
    return TorrentFiles(
        entries.enumerated().map { index, entry in
            var attributes: TorrentFile.Attributes = pads.contains(index) ? .pad : []
            if links[index] != nil { attributes.insert(.symlink) }
            let file = TorrentFile(
                path: entry.0.split(separator: "/").map(String.init), length: entry.1, offset: offset,
                attributes: attributes, symlinkTarget: links[index].map { $0.split(separator: "/").map(String.init) })
            offset += entry.1
            return file
        })
}

/// The torrent used by the storage tests: nested folders, an empty file, a pad file, a file spanning
/// several pieces and a short last piece. Piece length 32 KiB, 5 pieces, 135,541 bytes.
enum SampleTorrent {
    static let pieceLength = 32_768
    static let files = makeFiles(
        [
            ("t/a.txt", 10_000),
            ("t/empty", 0),
            ("t/sub/b.bin", 40_000),
            ("t/.pad/15536", 15_536),
            ("t/c.bin", 70_000),
            ("t/Ünïcødé ✓", 5),
        ], pads: [3])
    static let totalLength: Int64 = 135_541
    static var layout: PieceLayout { PieceLayout(pieceLength: pieceLength, totalLength: totalLength) }
    static var map: FileSpanMap { FileSpanMap(files: files, layout: layout) }

    /// The whole byte stream: a pattern in real files, zeros in pad files.
    static let stream: [UInt8] = {
        var bytes: [UInt8] = []
        for file in files {
            for position in 0..<Int(file.length) {
                bytes.append(file.isPad ? 0 : UInt8(truncatingIfNeeded: position &* 31 &+ Int(file.offset) / 7 &+ 1))
            }
        }
        return bytes
    }()

    /// The bytes of one piece.
    static func piece(_ piece: PieceIndex) -> [UInt8] {
        let start = Int(layout.offset(of: piece))
        return Array(stream[start..<start + layout.length(of: piece)])
    }

    /// The bytes of one file.
    static func file(_ index: Int) -> [UInt8] {
        let file = files[index]
        return Array(stream[Int(file.offset)..<Int(file.offset + file.length)])
    }

    /// The concatenated SHA-1 piece hashes.
    static let pieceHashes: [UInt8] = layout.pieces.flatMap { PieceDigest.sha1(of: piece($0)).bytes }
}

/// Runs `body` with a fresh empty folder, removed afterwards (read-only folders included).
func withTemporaryFolder<R>(_ body: (String) async throws -> R) async throws -> R {
    var template = Array((NSTemporaryDirectory() + "/btq-disk-XXXXXX").utf8CString)
    guard let created = mkdtemp(&template) else { throw POSIXError(.EIO) }
    let path = String(cString: created)
    chmod(path, 0o755)
    defer { removeTree(path) }
    return try await body(path)
}

/// `rm -rf`, making folders writable first.
func removeTree(_ path: String) {
    if let enumerator = FileManager.default.enumerator(atPath: path) {
        for case let child as String in enumerator { chmod(path + "/" + child, 0o755) }
    }
    try? FileManager.default.removeItem(atPath: path)
}

/// The size of a file, or `nil` when nothing exists at the path (not following symlinks).
func fileSize(_ path: String) -> Int64? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return Int64(info.st_size)
}
