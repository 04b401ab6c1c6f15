import Engine
import Foundation

@testable import Store

/// Builders for test values.
enum Fixtures {
    /// Deterministic pseudo-random bytes (SplitMix64).
    static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out: [UInt8] = []
        while out.count < count {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z.bigEndian) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }

    static func v1(seed: UInt64, prefix: String = "") -> InfoHashV1 {
        let hex = prefix + HexCoding.encode(bytes(seed: seed, count: 20))
        return InfoHashV1(hex: String(hex.prefix(40)))!
    }

    static func v2(seed: UInt64, prefix: String = "") -> InfoHashV2 {
        let hex = prefix + HexCoding.encode(bytes(seed: seed &* 31, count: 32))
        return InfoHashV2(hex: String(hex.prefix(64)))!
    }

    /// A v1 multi-file torrent (or hybrid / v2 when given those hashes), parsed from real `.torrent` bytes:
    /// the store reads a torrent's files back from them. `attributes` gives files BEP 47 `attr` strings
    /// (`"xh"`, `"p"`, `"l"`), `symlinks` a symlink's target below the torrent's folder. The info-hashes
    /// are the seed's (or `hashes`), not the bytes'.
    static func metainfo(
        seed: UInt64, name: String? = nil, hashes: InfoHashes? = nil, fileLengths: [Int64] = [40_000, 23_000],
        pieceLength: Int = 16_384, trackers: [[String]] = [["http://127.0.0.1:6969/announce"]],
        version: MetainfoVersion = .v1, attributes: [Int: String] = [:], symlinks: [Int: [String]] = [:]
    ) -> Metainfo {
        let name = name ?? "torrent-\(seed)"
        let total = fileLengths.reduce(0, +)
        let pieceCount = Int((total + Int64(pieceLength) - 1) / Int64(pieceLength))
        let files: [BencodeValue] = fileLengths.enumerated().map { index, length in
            var file: [[UInt8]: BencodeValue] = [
                Array("length".utf8): .integer(length),
                Array("path".utf8): .list([.string(Array("file\(index).bin".utf8))]),
            ]
            if let attr = attributes[index] { file[Array("attr".utf8)] = .string(Array(attr.utf8)) }
            if let target = symlinks[index] {
                file[Array("symlink path".utf8)] = .list(target.map { .string(Array($0.utf8)) })
            }
            return .dictionary(file)
        }
        let info: BencodeValue = [
            "name": .string(Array(name.utf8)), "piece length": .integer(Int64(pieceLength)),
            "pieces": .string([UInt8](repeating: 0, count: pieceCount * 20)), "files": .list(files),
            "private": .integer(seed % 2 == 0 ? 1 : 0),
        ]
        var torrent: BencodeValue = [
            "info": info, "creation date": 1_700_000_000, "comment": .string(Array("seed \(seed)".utf8)),
            "created by": "btq tests",
        ]
        if case .dictionary(var top) = torrent, let first = trackers.first?.first {
            top[Array("announce".utf8)] = .string(Array(first.utf8))
            top[Array("announce-list".utf8)] = .list(trackers.map { .list($0.map { .string(Array($0.utf8)) }) })
            torrent = .dictionary(top)
        }
        do {
            var metainfo = try Metainfo(bytes: BencodeEncoder().encode(torrent))
            metainfo.infoHashes = hashes ?? InfoHashes(v1: v1(seed: seed), v2: nil)!
            metainfo.version = version
            return metainfo
        } catch {
            fatalError("the fixture torrent does not parse: \(error)")
        }
    }

    static func magnet(seed: UInt64, name: String? = "magnet \(0)", trackers: [String] = []) -> MagnetLink {
        let hash = v1(seed: seed)
        return MagnetLink(
            infoHashes: InfoHashes(v1: hash, v2: nil)!, displayName: name, trackers: trackers, webSeeds: [],
            peers: [], uri: "magnet:?xt=urn:btih:\(hash.hex)")
    }

    static func new(_ metainfo: Metainfo, paused: Bool = false, atTop: Bool = false) -> NewTorrent {
        NewTorrent(source: .metainfo(metainfo), saveDirectory: "/downloads", paused: paused, atTop: atTop)
    }
}

/// A fresh folder under the system's temporary folder, deleted with its contents on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "/btq-store-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
