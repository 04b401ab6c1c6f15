import Foundation
import Testing

/// The queue commands end to end, through the real executable and a real database.
@Suite(.timeLimit(.minutes(5))) struct QueueCommandTests {
    /// Makes a small content folder and a torrent of it with `btq create`; returns the torrent's path.
    static func makeTorrent(
        _ btq: BtqProcess, name: String = "content", files: [String: Int] = ["a.bin": 70_000, "sub/b.txt": 123]
    ) throws -> String {
        let root = btq.folder.appendingPathComponent("src/\(name)")
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(name.utf8.count + 1)
        for (path, size) in files.sorted(by: { $0.key < $1.key }) {
            var bytes = [UInt8](repeating: 0, count: size)
            for i in bytes.indices {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[i] = UInt8(truncatingIfNeeded: seed >> 33)
            }
            _ = try btq.write("src/\(name)/\(path)", bytes)
        }
        let out = btq.folder.appendingPathComponent("\(name).torrent").path
        let result = try btq.run(["create", root.path, "-o", out, "--tracker", "http://127.0.0.1:6969/announce"])
        #expect(result.status == 0, "btq create failed: \(result.stderr)")
        return out
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    @Test func addListInfoFiles() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try Self.makeTorrent(btq)
        let added = try btq.run(["add", torrent, "--dir", btq.folder.appendingPathComponent("dl").path])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.hasPrefix("added #1 content ("))

        let list = try btq.run(["list"])
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("ID") == true)
        #expect(lines.last?.contains("content") == true)
        #expect(lines.last?.contains("queued") == true)
        #expect(lines.last?.contains("0.0%") == true)

        let rows = try #require(try Self.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["id"] as? Int == 1)
        #expect(row["name"] as? String == "content")
        #expect(row["total_size"] as? Int == 70_123)
        #expect(row["file_count"] as? Int == 2)
        #expect(row["state"] as? String == "queued")
        #expect(row["info_hash_v2"] is NSNull)
        let hash = try #require(row["info_hash_v1"] as? String)
        #expect(hash.count == 40)

        let info = try btq.run(["info", String(hash.prefix(8))])
        #expect(info.status == 0)
        let hashLine = info.stdout.split(separator: "\n").first { $0.hasPrefix("Info-hash v1:") }
        #expect(hashLine?.hasSuffix(" \(hash)") == true)
        #expect(info.stdout.contains("http://127.0.0.1:6969/announce"))
        let infoJSON = try #require(try Self.json(try btq.run(["info", "1", "--json"]).stdout) as? [String: Any])
        let trackers = try #require(infoJSON["trackers"] as? [[String: Any]])
        #expect(trackers.first?["url"] as? String == "http://127.0.0.1:6969/announce")

        let files = try #require(try Self.json(try btq.run(["files", "1", "--json"]).stdout) as? [[String: Any]])
        #expect(files.map { $0["path"] as? String } == ["content/a.bin", "content/sub/b.txt"])
        #expect(files.map { $0["length"] as? Int } == [70_000, 123])
        #expect(files.map { $0["offset"] as? Int } == [0, 70_000])
        let table = try btq.run(["files", "1"])
        #expect(table.stdout.contains("content/sub/b.txt"))
    }

    @Test func listFiltersByStateAndRejectsUnknownState() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let one = try Self.makeTorrent(btq, name: "one")
        let two = try Self.makeTorrent(btq, name: "two")
        #expect(try btq.run(["add", one]).status == 0)
        #expect(try btq.run(["add", "--paused", two]).status == 0)
        let paused = try #require(
            try Self.json(try btq.run(["list", "--state", "paused", "--json"]).stdout) as? [[String: Any]])
        #expect(paused.map { $0["name"] as? String } == ["two"])
        let bad = try btq.run(["list", "--state", "sleeping"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("sleeping"))
    }

    @Test func duplicateAddIsANoticeAndChangesNothing() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try Self.makeTorrent(btq)
        #expect(try btq.run(["add", torrent]).status == 0)
        let before = try btq.snapshot()
        let again = try btq.run(["add", torrent, "--top", "--paused"])
        #expect(again.status == 0)
        #expect(again.stdout.isEmpty)
        #expect(again.stderrLines.count == 1)
        #expect(again.stderr.contains("already in the queue as #1"))
        #expect(try btq.snapshot() == before)
    }

    @Test func magnetLinksAreQueued() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let magnet =
            "magnet:?xt=urn:btih:b61560c2918f463768cd122b6d2fdd47b77bdb35&dn=Some%20Name&tr=udp%3A%2F%2F127.0.0.1%3A6969"
        let added = try btq.run(["add", magnet])
        #expect(added.status == 0, "\(added.stderr)")
        let rows = try #require(try Self.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(rows.first?["name"] as? String == "Some Name")
        #expect(rows.first?["magnet"] as? Bool == true)
        #expect(rows.first?["total_size"] is NSNull)
        let info = try btq.run(["info", "b615"])
        #expect(info.stdout.contains("udp://127.0.0.1:6969"))
    }

    @Test func moveAndRemove() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        for name in ["a", "b", "c"] {
            #expect(try btq.run(["add", try Self.makeTorrent(btq, name: name)]).status == 0)
        }
        func order() throws -> [String] {
            let rows = try #require(try Self.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
            return rows.compactMap { $0["name"] as? String }
        }
        #expect(try order() == ["a", "b", "c"])
        #expect(try btq.run(["move", "3", "top"]).status == 0)
        #expect(try order() == ["c", "a", "b"])
        #expect(try btq.run(["move", "3", "down"]).status == 0)
        #expect(try order() == ["a", "c", "b"])
        #expect(try btq.run(["move", "1", "bottom"]).status == 0)
        #expect(try order() == ["c", "b", "a"])
        #expect(try btq.run(["move", "2", "up"]).status == 0)
        #expect(try order() == ["b", "c", "a"])
        let badWhere = try btq.run(["move", "2", "sideways"])
        #expect(badWhere.status != 0)

        #expect(try btq.run(["remove", "2"]).status == 0)
        #expect(try order() == ["c", "a"])
        let all = try #require(try Self.json(try btq.run(["list", "--all", "--json"]).stdout) as? [[String: Any]])
        #expect(all.count == 3)
        let removed = try #require(all.first { $0["id"] as? Int == 2 })
        #expect(removed["removed_at"] is String)
        #expect(try btq.run(["info", "2"]).status == 0)
        #expect(try btq.run(["remove", "--purge", "2"]).status == 0)
        let afterPurge = try #require(
            try Self.json(try btq.run(["list", "--all", "--json"]).stdout) as? [[String: Any]])
        #expect(afterPurge.count == 2)
        #expect(try btq.run(["info", "2"]).status == 1)
    }

    @Test func removeDeleteDataDeletesOnlyTheTorrentsFiles() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try Self.makeTorrent(btq)
        // Download folder = the source's parent, so the torrent's files are "already there".
        let dir = btq.folder.appendingPathComponent("src")
        _ = try btq.write("src/content/unrelated.txt", Array("keep me".utf8))
        #expect(try btq.run(["add", torrent, "--dir", dir.path]).status == 0)
        let removed = try btq.run(["remove", "1", "--delete-data"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("2 file(s) deleted"))
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: dir.appendingPathComponent("content/a.bin").path))
        #expect(!fm.fileExists(atPath: dir.appendingPathComponent("content/sub").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("content/unrelated.txt").path))
    }

    @Test func removeDeleteDataNeverFollowsALinkOutOfTheFolder() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try Self.makeTorrent(btq)
        let fm = FileManager.default
        let dir = btq.folder.appendingPathComponent("downloads")
        let secret = try btq.write("outside/secret.bin", Array("secret".utf8))
        let kept = try btq.write("outside-dir/b.txt", Array("keep".utf8))
        try fm.createDirectory(at: dir.appendingPathComponent("content"), withIntermediateDirectories: true)
        // The torrent's file is a link to a file outside; its folder is a link to a folder outside.
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("content/a.bin").path, withDestinationPath: secret)
        try fm.createSymbolicLink(
            atPath: dir.appendingPathComponent("content/sub").path,
            withDestinationPath: btq.folder.appendingPathComponent("outside-dir").path)
        #expect(try btq.run(["add", torrent, "--dir", dir.path, "--paused"]).status == 0)
        let removed = try btq.run(["remove", "1", "--delete-data"])
        #expect(removed.status == 0, "\(removed.stderr)")
        // The link in the file's place is deleted, not what it points to; the linked folder is not entered.
        #expect(fm.contents(atPath: secret) == Data("secret".utf8))
        #expect(fm.contents(atPath: kept) == Data("keep".utf8))
        #expect((try? fm.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("content/a.bin").path)) == nil)
        #expect(removed.stderr.contains("sub/b.txt"))
        #expect(removed.stdout.contains("1 file(s) deleted"))
    }
}
