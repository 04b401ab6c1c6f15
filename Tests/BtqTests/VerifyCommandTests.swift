import Engine
import Foundation
import Store
import Testing

@testable import btq

/// `btq verify` through the real executable: a full recheck that corrects the recorded progress.
@Suite(.timeLimit(.minutes(5))) struct VerifyCommandTests {
    @Test func verifyFindsDataInPlaceAndDamage() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        // 300,000 + 70,000 bytes at 16 KiB pieces (btq create picks small pieces for small content): the
        // data sits where the torrent is saved, as if downloaded earlier or copied in.
        let torrent = try QueueCommandTests.makeTorrent(
            btq, name: "content", files: ["a.bin": 300_000, "sub/b.bin": 70_000])
        let added = try btq.run(["add", torrent, "--dir", btq.folder.appendingPathComponent("src").path])
        #expect(added.status == 0, "\(added.stderr)")

        let first = try btq.run(["verify", "1", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let counts = try #require(Self.pieces(in: first.stdout))
        #expect(counts.valid == counts.total && counts.total > 1, "\(first.stdout)")
        let row = try #require(try QueueCommandTests.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        // Complete, and queued as a seed: `btq run` seeds it; only the seed limits make it `completed`.
        #expect(row.first?["state"] as? String == "queued")
        #expect(row.first?["bytes_done"] as? Int == 370_000)
        #expect(try BtqStore(path: btq.database).queries.torrent(id: 1)?.completedAt != nil)
        #expect(try btq.run(["history", "1"]).stdout.contains("all wanted data found by a recheck"))

        // One byte of a.bin changes: exactly one piece fails, the torrent goes back to the queue.
        let path = btq.folder.appendingPathComponent("src/content/a.bin").path
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 100_000)
        let old = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: 100_000)
        try handle.write(contentsOf: [old ^ 0x5A])
        try handle.close()
        let second = try btq.run(["verify", "1", "--quiet"])
        #expect(second.status == 0, "\(second.stderr)")
        let after = try #require(Self.pieces(in: second.stdout))
        #expect(after.valid == counts.total - 1, "\(second.stdout)")
        #expect(second.stdout.contains("1 bad"))
        let again = try #require(
            try QueueCommandTests.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(again.first?["state"] as? String == "queued")

        let history = try btq.run(["history", "1"])
        #expect(
            history.stdout.contains("full recheck: \(counts.total) of \(counts.total) pieces valid"),
            "\(history.stdout)")
        #expect(history.stdout.contains("1 recorded piece(s) found bad"), "\(history.stdout)")
    }

    /// A paused torrent stays paused whatever the check finds; found complete, it is a seed once resumed.
    @Test func verifyKeepsAPausedTorrentPaused() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try QueueCommandTests.makeTorrent(btq, name: "content", files: ["a.bin": 100_000])
        let dir = btq.folder.appendingPathComponent("src").path
        #expect(try btq.run(["add", torrent, "--dir", dir, "--paused"]).status == 0)
        #expect(try btq.run(["verify", "1", "--quiet"]).status == 0)
        let store = try BtqStore(path: btq.database)
        #expect(try store.queries.torrent(id: 1)?.state == .paused)
        #expect(try store.queries.torrent(id: 1)?.completedAt != nil)
        #expect(try btq.run(["resume", "1"]).status == 0)
        #expect(try store.queries.torrent(id: 1)?.state == .queued)
        #expect(try store.queue.seedCandidates(limit: 5).map(\.id) == [1])
    }

    /// The state after a recheck, from the state before it.
    @Test(arguments: [
        (TorrentState?.none, true, TorrentState.queued), (.queued, true, .queued), (.seeding, true, .queued),
        (.downloading, true, .queued), (.error, true, .queued), (.completed, true, .completed),
        (.paused, true, .paused), (.queued, false, .queued), (.completed, false, .queued), (.paused, false, .paused),
        (.seeding, false, .queued),
    ])
    func nextStateAfterARecheck(_ before: TorrentState?, _ complete: Bool, _ expected: TorrentState) {
        #expect(RecheckVerdict.nextState(before: before, isComplete: complete) == expected)
    }

    @Test func verifyOfAnUnknownTorrentFails() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let result = try btq.run(["verify", "7"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("btq: "))
    }

    /// "(valid) of (total) pieces valid" in a summary line.
    static func pieces(in text: String) -> (valid: Int, total: Int)? {
        guard let range = text.range(of: #"\d+ of \d+ pieces valid"#, options: .regularExpression) else { return nil }
        let numbers = text[range].split(separator: " ").compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }
}
