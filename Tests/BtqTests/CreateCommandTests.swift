import Foundation
import Testing

/// `btq create` makes torrents that libtorrent reads exactly as btq does.
@Suite(.timeLimit(.minutes(5))) struct CreateCommandTests {
    /// What libtorrent (Debian's python3-libtorrent) says about a .torrent file.
    struct LibtorrentView: Decodable {
        let infoHash: String
        let files: Int
        let pieces: Int
        let pieceLength: Int
        let totalSize: Int
        let isPrivate: Bool
        let trackers: [String]
    }

    static func libtorrentView(of path: String) throws -> LibtorrentView {
        let script = """
            import json, sys
            import libtorrent as lt
            ti = lt.torrent_info(sys.argv[1])
            print(json.dumps({
                "infoHash": str(ti.info_hashes().v1) if hasattr(ti, "info_hashes") else str(ti.info_hash()),
                "files": ti.num_files(), "pieces": ti.num_pieces(), "pieceLength": ti.piece_length(),
                "totalSize": ti.total_size(), "isPrivate": ti.priv(),
                "trackers": [t.url for t in ti.trackers()]}))
            """
        return try JSONDecoder().decode(LibtorrentView.self, from: try runPython(script, [path]))
    }

    /// What `script` prints on standard output, run with `arguments` by Debian's interpreter
    /// (python3-libtorrent lives in its dist-packages, not in other Pythons').
    static func runPython(_ script: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LibtorrentUnavailable(
                message: "python3-libtorrent failed (scripts/install-deps installs it): \(errText)")
        }
        return data
    }

    struct LibtorrentUnavailable: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    enum Shape: String, CaseIterable {
        case folder, singleFile, privateWithPieceSize
    }

    @Test(arguments: Shape.allCases)
    func createThenAddMatchesLibtorrent(_ shape: Shape) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrentPath: String
        let expectedFiles: Int
        switch shape {
        case .folder:
            torrentPath = try QueueCommandTests.makeTorrent(
                btq, name: "tree",
                files: ["a/b/c.bin": 300_000, "empty.txt": 0, "Grüße/naïve ☃.txt": 5_000, "z.bin": 16_384])
            expectedFiles = 4
        case .singleFile:
            let file = try btq.write("single.iso", [UInt8](repeating: 7, count: 1_000_001))
            torrentPath = btq.folder.appendingPathComponent("single.torrent").path
            let made = try btq.run(["create", file, "-o", torrentPath, "--comment", "one file"])
            #expect(made.status == 0, "\(made.stderr)")
            expectedFiles = 1
        case .privateWithPieceSize:
            _ = try btq.write("priv/x.bin", [UInt8](repeating: 1, count: 200_000))
            _ = try btq.write("priv/y.bin", [UInt8](repeating: 2, count: 100))
            torrentPath = btq.folder.appendingPathComponent("priv.torrent").path
            let made = try btq.run([
                "create", btq.folder.appendingPathComponent("priv").path, "-o", torrentPath, "--private",
                "--piece-size", "32K", "--tracker", "udp://127.0.0.1:6969", "--tracker",
                "http://127.0.0.1:6969/announce",
            ])
            #expect(made.status == 0, "\(made.stderr)")
            expectedFiles = 2
        }
        let reference = try Self.libtorrentView(of: torrentPath)
        #expect(reference.files == expectedFiles)
        if shape == .privateWithPieceSize {
            #expect(reference.isPrivate)
            #expect(reference.pieceLength == 32 * 1024)
            #expect(reference.trackers == ["udp://127.0.0.1:6969", "http://127.0.0.1:6969/announce"])
        }

        let added = try btq.run(["add", torrentPath])
        #expect(added.status == 0, "\(added.stderr)")
        let rows = try #require(try QueueCommandTests.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        let row = try #require(rows.first)
        #expect(row["info_hash_v1"] as? String == reference.infoHash)
        #expect(row["piece_count"] as? Int == reference.pieces)
        #expect(row["piece_length"] as? Int == reference.pieceLength)
        #expect(row["total_size"] as? Int == reference.totalSize)
        #expect(row["private"] as? Bool == reference.isPrivate)
    }

    /// The info-hashes (hex; `nil` for a side the torrent lacks) libtorrent computes for a torrent it
    /// makes of `source` (`flags`: `v2` or `hybrid`) and for the torrent at `loading`.
    struct LibtorrentHashes: Decodable {
        let madeV1: String?
        let madeV2: String
        let loadedV1: String?
        let loadedV2: String?
    }

    static func libtorrentHashes(
        source: String, pieceLength: Int, v2Only: Bool, loading: String
    ) throws
        -> LibtorrentHashes
    {
        let script = """
            import json, os, sys
            import libtorrent as lt
            source, piece, v2only, loading, out = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5]
            fs = lt.file_storage()
            lt.add_files(fs, source)
            t = lt.create_torrent(fs, piece, flags=lt.create_torrent.v2_only if v2only else 0)
            lt.set_piece_hashes(t, os.path.dirname(source))
            with open(out, "wb") as f:
                f.write(lt.bencode(t.generate()))
            def hashes(path):
                h = lt.torrent_info(path).info_hashes()
                return (str(h.v1) if h.has_v1() else None, str(h.v2) if h.has_v2() else None)
            made, loaded = hashes(out), hashes(loading)
            print(json.dumps({"madeV1": made[0], "madeV2": made[1], "loadedV1": loaded[0], "loadedV2": loaded[1]}))
            """
        let data = try runPython(script, [source, String(pieceLength), v2Only ? "1" : "0", loading, loading + ".lt"])
        return try JSONDecoder().decode(LibtorrentHashes.self, from: data)
    }

    enum V2Shape: String, CaseIterable {
        case v2Folder, hybridFolder, v2SingleFile, hybridSingleFile, hybridFolderLargePieces
    }

    /// `btq create --v2`/`--hybrid` writes the same info dictionary libtorrent 2 writes for the same
    /// content (so both info-hashes agree), libtorrent loads btq's torrent to those hashes, and btq
    /// reads libtorrent's torrent to them too. The folder mixes an empty file, files of one block,
    /// of part of a piece, of exactly two pieces and of several pieces with a short last one.
    @Test(arguments: V2Shape.allCases)
    func createV2MatchesLibtorrent(_ shape: V2Shape) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let v2Only = shape == .v2Folder || shape == .v2SingleFile
        let pieceLength = shape == .hybridFolderLargePieces ? 64 * 1024 : 32 * 1024
        let source: String
        switch shape {
        case .v2Folder, .hybridFolder, .hybridFolderLargePieces:
            var seed: UInt8 = 1
            for (path, length) in [
                ("tree/a/b/c.bin", 300_001), ("tree/empty.txt", 0), ("tree/Grüße/naïve ☃.txt", 5_000),
                ("tree/z.bin", 65_536), ("tree/one.bin", 16_384), ("tree/y.bin", 16_385),
            ] {
                _ = try btq.write(path, (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
                seed &+= 1
            }
            source = btq.folder.appendingPathComponent("tree").path
        case .v2SingleFile, .hybridSingleFile:
            source = try btq.write("single.iso", (0..<200_000).map { UInt8(truncatingIfNeeded: $0 / 7) })
        }
        let torrentPath = btq.folder.appendingPathComponent("made.torrent").path
        let made = try btq.run([
            "create", source, "-o", torrentPath, "--piece-size", String(pieceLength), v2Only ? "--v2" : "--hybrid",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("info-hash v2 "))

        let reference = try Self.libtorrentHashes(
            source: source, pieceLength: pieceLength, v2Only: v2Only, loading: torrentPath)
        #expect(reference.loadedV2 == reference.madeV2)
        #expect(reference.loadedV1 == reference.madeV1)
        #expect((reference.madeV1 == nil) == v2Only)

        // btq reads both torrents to libtorrent's hashes.
        for path in [torrentPath, torrentPath + ".lt"] {
            let added = try btq.run(["add", path])
            #expect(added.status == 0 || added.stderr.contains("already"), "\(added.stderr)")
        }
        let rows = try #require(try QueueCommandTests.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["info_hash_v2"] as? String == reference.madeV2)
        #expect(row["info_hash_v1"] as? String == reference.madeV1)
    }

    @Test func createRefusesMissingPathAndExistingOutput() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let missing = try btq.run(["create", btq.folder.appendingPathComponent("nothing").path])
        #expect(missing.status == 1)
        #expect(missing.stderrLines.count == 1)
        let file = try btq.write("data.bin", [1, 2, 3])
        let out = try btq.write("exists.torrent", [0])
        let clash = try btq.run(["create", file, "-o", out])
        #expect(clash.status == 1)
        #expect(clash.stderr.contains("exists"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data([0]))
        let badSize = try btq.run(["create", file, "--piece-size", "3000"])
        #expect(badSize.status == 64)
        let both = try btq.run(["create", file, "--v2", "--hybrid"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("--v2 and --hybrid"))
    }
}
