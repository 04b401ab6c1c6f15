import Engine
import Foundation

@testable import Store

/// Builders for test values (the metainfo parser is not needed: values come from memberwise initializers).
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

    /// A v1 multi-file torrent (or hybrid / v2 when given those hashes).
    static func metainfo(
        seed: UInt64, name: String? = nil, hashes: InfoHashes? = nil, fileLengths: [Int64] = [40_000, 23_000],
        pieceLength: Int = 16_384, trackers: [[String]] = [["http://127.0.0.1:6969/announce"]],
        version: MetainfoVersion = .v1
    ) -> Metainfo {
        let name = name ?? "torrent-\(seed)"
        var files: [TorrentFile] = []
        var offset: Int64 = 0
        for (index, length) in fileLengths.enumerated() {
            files.append(TorrentFile(path: [name, "file\(index).bin"], length: length, offset: offset))
            offset += length
        }
        let pieceCount = Int((offset + Int64(pieceLength) - 1) / Int64(pieceLength))
        let info = Array("d4:name\(name.utf8.count):\(name)e".utf8)
        return Metainfo(
            version: version, infoHashes: hashes ?? InfoHashes(v1: v1(seed: seed), v2: nil)!, name: name,
            isMultiFile: true, pieceLength: pieceLength, pieceCount: pieceCount,
            pieceHashes: [UInt8](repeating: 0, count: pieceCount * 20), pieceLayers: [:], files: files,
            totalLength: offset, trackerTiers: trackers, webSeeds: [], isPrivate: seed % 2 == 0,
            creationDate: 1_700_000_000, comment: "seed \(seed)", createdBy: "btq tests", infoBytes: info,
            torrentBytes: Array("d4:info".utf8) + info + Array("e".utf8))
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
