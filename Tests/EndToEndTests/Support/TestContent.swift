import Engine
import Foundation

/// Deterministic content to share in a test: one file or a folder tree, written from a seeded PRNG
/// so every run and every machine gets the same bytes (and the same info-hashes).
struct TestContent: Sendable {
    /// One file of the content.
    struct File: Sendable {
        /// Path below ``TestContent/root``, starting with the content's name; `/`-separated, exact
        /// bytes as written to disk (an NFD name stays NFD).
        let path: String
        /// Length in bytes.
        let size: Int
        /// PRNG seed of its bytes.
        let seed: UInt64
    }

    /// The folder that holds the content (the save path to give seeders).
    let root: URL
    /// The file or folder name: what a torrent of it is called.
    let name: String
    /// Every file, in the order they were listed (not necessarily the torrent's order).
    let files: [File]

    /// The file or folder to make a torrent of.
    var url: URL { root.appendingPathComponent(name) }
    /// Total bytes.
    var totalSize: Int { files.reduce(0) { $0 + $1.size } }

    /// One file of `size` bytes named `name` in `root`.
    static func singleFile(name: String = "single.bin", size: Int, seed: UInt64 = 1, in root: URL) throws -> TestContent
    {
        let content = TestContent(root: root, name: name, files: [File(path: name, size: size, seed: seed)])
        try content.write()
        return content
    }

    /// A folder `name` in `root` holding `files` (path below it, size), in that order.
    static func folder(name: String, files: [(String, Int)], seed: UInt64 = 3, in root: URL) throws -> TestContent {
        let entries = files.enumerated().map { index, entry in
            File(path: name + "/" + entry.0, size: entry.1, seed: seed &* 1_000_003 &+ UInt64(index))
        }
        let content = TestContent(root: root, name: name, files: entries)
        try content.write()
        return content
    }

    /// A folder tree (about 8.7 MiB with the default sizes) that exercises what a multi-file layout can get
    /// wrong, for a piece size of `pieceSize`: nested folders, empty files (also first and last in
    /// order), files smaller than a piece, files of a piece length and one byte either side of it,
    /// files around the 16 KiB block size, files spanning many pieces, non-ASCII names (`Grüße/naïve
    /// ☃.txt`, CJK, emoji), a name in NFD (decomposed accents), spaces, and 40 small files in a row that
    /// share pieces.
    static func tree(
        name: String = "tree", pieceSize: Int = 256 * 1024, seed: UInt64 = 7, in root: URL
    ) throws
        -> TestContent
    {
        let nfd = "Cafe\u{301}/re\u{301}sume\u{301} nfd.txt"  // decomposed é: bytes 65 CC 81
        var entries: [(String, Int)] = [
            ("000 empty first.txt", 0),
            ("a/b/c/deep.bin", 3 * pieceSize + 12_345),
            ("a/small.txt", 1_000),
            ("a/empty.dat", 0),
            ("Grüße/naïve ☃.txt", 5_000),
            ("Grüße/日本語/写真.jpg", 300_001),
            (nfd, 12_345),
            ("émoji 🎉/space name.txt", 777),
            ("edge/piece exact.bin", pieceSize),
            ("edge/piece minus one.bin", pieceSize - 1),
            ("edge/piece plus one.bin", pieceSize + 1),
            ("edge/block minus one.bin", 16_383),
            ("edge/block exact.bin", 16_384),
            ("edge/block plus one.bin", 16_385),
            ("big/large.bin", 5 * 1024 * 1024 + 123),
            ("zz/empty last.txt", 0),
        ]
        var rng = SplitMix64(seed: seed)
        for index in 0..<40 {
            entries.append(("many/f\(index < 10 ? "0" : "")\(index).txt", Int(rng.next() % 40_000) + 1))
        }
        let files = entries.enumerated().map { index, entry in
            File(path: name + "/" + entry.0, size: entry.1, seed: seed &* 1_000_003 &+ UInt64(index))
        }
        let content = TestContent(root: root, name: name, files: files)
        try content.write()
        return content
    }

    /// The bytes of `file` (regenerated from its seed).
    static func bytes(of file: File) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: file.size)
        result.withUnsafeMutableBytes { fill($0, seed: file.seed, startingAt: 0) }
        return result
    }

    /// The bytes `range` of `file`.
    static func bytes(of file: File, range: Range<Int>) -> [UInt8] {
        let start = range.lowerBound & ~7
        var result = [UInt8](repeating: 0, count: range.upperBound - start)
        result.withUnsafeMutableBytes { fill($0, seed: file.seed, startingAt: start) }
        return Array(result[(range.lowerBound - start)...])
    }

    private func write() throws {
        let manager = FileManager.default
        try manager.createDirectory(at: root, withIntermediateDirectories: true)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for file in files {
            let url = root.appendingPathComponent(file.path)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard manager.createFile(atPath: url.path, contents: nil) else {
                throw HarnessError("cannot create \(url.path)")
            }
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            var offset = 0
            while offset < file.size {
                let count = min(buffer.count, file.size - offset)
                buffer.withUnsafeMutableBytes {
                    Self.fill(
                        UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), seed: file.seed, startingAt: offset)
                }
                try handle.write(contentsOf: buffer[0..<count])
                offset += count
            }
        }
    }

    /// Fills `buffer` with the bytes at `offset...` of the stream seeded with `seed`: 8 bytes per
    /// SplitMix64 step, step `n` covering bytes `8n..<8n+8`, so any slice can be made on its own.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, seed: UInt64, startingAt offset: Int) {
        precondition(offset % 8 == 0)
        var state = seed &+ UInt64(offset / 8) &* 0x9E37_79B9_7F4A_7C15
        var index = 0
        let count = buffer.count
        while index < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            if index + 8 <= count {
                buffer.storeBytes(of: z.littleEndian, toByteOffset: index, as: UInt64.self)
            } else {
                for k in 0..<(count - index) { buffer[index + k] = UInt8(truncatingIfNeeded: z >> (8 * k)) }
            }
            index += 8
        }
    }
}

/// SplitMix64 (the engine's seeded generator) for sizes and choices.
typealias SplitMix64 = SeededRandom
