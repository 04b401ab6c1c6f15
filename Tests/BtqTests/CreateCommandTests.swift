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
        let process = Process()
        // Debian's interpreter: python3-libtorrent lives in its dist-packages, not in other Pythons'.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path]
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
        return try JSONDecoder().decode(LibtorrentView.self, from: data)
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
    }
}
