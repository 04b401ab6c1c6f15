import Foundation
import Testing

/// Every user error prints one clear line on stderr, exits non-zero, and leaves the database as it was.
@Suite(.timeLimit(.minutes(5))) struct CLIErrorTests {
    enum Setup: String, CaseIterable {
        case missingFile, folderNotFile, textFile, emptyFile, corruptTorrent, truncatedTorrent, badMagnet
        case shortMagnetHash, unknownId, unknownPrefix, oneBadAmongGood
    }

    /// Runs the failing command against a database that already holds one torrent.
    @Test(arguments: Setup.allCases)
    func errorLeavesDatabaseUnchanged(_ setup: Setup) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let good = try QueueCommandTests.makeTorrent(btq, name: "good")
        let other = try QueueCommandTests.makeTorrent(btq, name: "other")
        #expect(try btq.run(["add", good]).status == 0)
        let torrentBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))

        let arguments: [String]
        let expected: String
        switch setup {
        case .missingFile:
            arguments = ["add", btq.folder.appendingPathComponent("nope.torrent").path]
            expected = "no such file"
        case .folderNotFile:
            arguments = ["add", btq.folder.path]
            expected = "is a folder"
        case .textFile:
            arguments = ["add", try btq.write("notes.torrent", Array("hello, not bencode\n".utf8))]
            expected = "not a valid torrent"
        case .emptyFile:
            arguments = ["add", try btq.write("empty.torrent", [])]
            expected = "empty file"
        case .corruptTorrent:
            var bytes = torrentBytes
            // "4:info" -> "4:infx": the info dictionary disappears.
            let key = Array("4:info".utf8)
            let at = try #require((0..<bytes.count - key.count).first { Array(bytes[$0..<$0 + key.count]) == key })
            bytes[at + 5] = UInt8(ascii: "x")
            arguments = ["add", try btq.write("corrupt.torrent", bytes)]
            expected = "not a valid torrent"
        case .truncatedTorrent:
            arguments = ["add", try btq.write("truncated.torrent", Array(torrentBytes.prefix(torrentBytes.count / 2)))]
            expected = "not a valid torrent"
        case .badMagnet:
            arguments = ["add", "magnet:?dn=no-hash-here"]
            expected = "bad magnet link"
        case .shortMagnetHash:
            arguments = ["add", "magnet:?xt=urn:btih:abcdef"]
            expected = "bad magnet link"
        case .unknownId:
            arguments = ["info", "42"]
            expected = "42"
        case .unknownPrefix:
            arguments = ["remove", "ffffffff"]
            expected = "ffffffff"
        case .oneBadAmongGood:
            arguments = ["add", other, btq.folder.appendingPathComponent("missing.torrent").path]
            expected = "missing.torrent"
        }

        let before = try btq.snapshot()
        let result = try btq.run(arguments)
        #expect(result.status == 1, "exit status for \(setup)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderrLines.count == 1, "one line on stderr: \(result.stderr)")
        #expect(result.stderr.hasPrefix("btq: "))
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(try btq.snapshot() == before)
    }

    @Test func aFailedFirstAddCreatesNoDatabase() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let result = try btq.run(["add", "magnet:?xt=urn:btih:zz"])
        #expect(result.status == 1)
        #expect(!FileManager.default.fileExists(atPath: btq.database))
    }

    @Test func badArgumentsAreUsageErrors() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let result = try btq.run(["add"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Error"))
        #expect(try btq.run(["frobnicate"]).status == 64)
    }
}
