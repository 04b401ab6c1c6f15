import Engine
import Foundation
import Store
import Testing

/// `btq history` and `btq peers` through the real executable.
@Suite(.timeLimit(.minutes(5))) struct HistoryCommandTests {
    /// Adds torrents named `names` (ids 1, 2, ... in that order).
    static func addTorrents(_ btq: BtqProcess, _ names: [String]) throws {
        for name in names {
            let torrent = try QueueCommandTests.makeTorrent(btq, name: name)
            let added = try btq.run(["add", torrent, "--dir", btq.folder.appendingPathComponent("dl").path])
            #expect(added.status == 0, "\(added.stderr)")
        }
    }

    static func events(_ btq: BtqProcess, _ arguments: [String] = []) throws -> [[String: Any]] {
        let result = try btq.run(["history"] + arguments + ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try QueueCommandTests.json(result.stdout) as? [[String: Any]])
    }

    @Test func historyShowsEveryTransitionInOrderUntilPurged() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try Self.addTorrents(btq, ["one", "two"])
        for command in [["move", "2", "top"], ["pause", "1"], ["resume", "1"], ["remove", "1"]] {
            let result = try btq.run(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }

        let all = try Self.events(btq)
        #expect(all.map { $0["kind"] as? String } == ["added", "added", "moved", "paused", "resumed", "removed"])
        #expect(all.map { $0["torrent_id"] as? Int } == [1, 2, 2, 1, 1, 1])
        #expect(all.map { $0["name"] as? String } == ["one", "two", "two", "one", "one", "one"])
        #expect(all[3]["detail"] as? String == "queued -> paused")
        #expect(all[4]["detail"] as? String == "paused -> queued")

        // A soft-removed torrent can still be named, and keeps its history.
        let one = try Self.events(btq, ["1"])
        #expect(one.map { $0["kind"] as? String } == ["added", "paused", "resumed", "removed"])
        let table = try btq.run(["history", "1"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(
            lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                "TIME", "ID", "NAME", "EVENT", "DETAIL",
            ])
        #expect(lines[2].contains(" one ") && lines[2].contains(" paused ") && lines[2].hasSuffix("queued -> paused"))
        #expect(lines[4].contains(" removed "))

        // --limit keeps the most recent, still oldest first.
        #expect(try Self.events(btq, ["--limit", "2"]).map { $0["kind"] as? String } == ["resumed", "removed"])

        // A purge forgets it.
        #expect(try btq.run(["remove", "1", "--purge"]).status == 0)
        let gone = try btq.run(["history", "1"])
        #expect(gone.status == 1)
        #expect(gone.stderrLines.count == 1)
        #expect(try Self.events(btq).map { $0["torrent_id"] as? Int } == [2, 2])
    }

    @Test func historyJSONHasEveryKey() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try Self.addTorrents(btq, ["one"])
        let event = try #require(try Self.events(btq).first)
        #expect(Set(event.keys) == ["id", "torrent_id", "at", "kind", "detail", "name"])
        #expect(event["id"] as? Int == 1)
        #expect(event["kind"] as? String == "added")
        let at = try #require(event["at"] as? String)
        #expect(at.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }

    @Test func sinceFilters() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try Self.addTorrents(btq, ["one"])
        #expect(try Self.events(btq, ["--since", "1h"]).count == 1)
        #expect(try Self.events(btq, ["--since", "2d"]).count == 1)
        #expect(try Self.events(btq, ["--since", "2000-01-01"]).count == 1)
        #expect(try Self.events(btq, ["--since", "2999-01-01"]).isEmpty)
        #expect(try Self.events(btq, ["1", "--since", "2999-06-30T12:30"]).isEmpty)
        #expect(try Self.events(btq, ["--since", "2999-06-30T12:30:59"]).isEmpty)
        let empty = try btq.run(["history", "--since", "2999-01-01"])
        #expect(empty.status == 0)
        #expect(empty.stdout.split(separator: "\n").count == 1)
    }

    @Test(arguments: ["yesterday", "2026-02-30", "2026-13-01", "2026-1-1", "2026-01-01T25:00", "5y", "h"])
    func badSinceIsAUsageError(_ since: String) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let result = try btq.run(["history", "--since", since])
        #expect(result.status == 64)
        #expect(result.stderr.contains(since))
    }

    @Test func peersOfATorrentWithoutPeersIsEmpty() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try Self.addTorrents(btq, ["one"])
        let table = try btq.run(["peers", "1"])
        #expect(table.status == 0)
        #expect(table.stdout.split(separator: "\n").count == 1)
        #expect(table.stdout.hasPrefix("ADDRESS"))
        let json = try btq.run(["peers", "1", "--json"])
        #expect(json.status == 0)
        #expect(try QueueCommandTests.json(json.stdout) as? [Any] != nil)
        #expect((try QueueCommandTests.json(json.stdout) as? [Any])?.isEmpty == true)
        #expect(try btq.run(["peers", "9"]).status == 1)
    }

    @Test func peersShowsThePeerHistory() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try Self.addTorrents(btq, ["one"])
        do {
            let store = try BtqStore(path: btq.database)
            let now = Timestamp.now.millisecondsSince1970
            try store.progress.saveProgress(
                ProgressBatch(peers: [
                    PeerUpdate(
                        torrentId: 1, address: "127.0.0.1", port: 6881, peerId: Array("-TR3000-abcdefghijkl".utf8),
                        source: .tracker, seenAt: Timestamp(millisecondsSince1970: now - 60_000),
                        downloadedDelta: 1536, hashFailuresDelta: 2, banned: true),
                    PeerUpdate(
                        torrentId: 1, address: "::1", port: 51413, client: "qBittorrent 4.6.0", source: .incoming,
                        seenAt: Timestamp(millisecondsSince1970: now), uploadedDelta: 2048),
                ]))
        }
        let table = try btq.run(["peers", "1"])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        let titles = lines[0].split(separator: "  ").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            titles.filter { !$0.isEmpty } == [
                "ADDRESS", "CLIENT", "SOURCE", "FIRST SEEN", "LAST SEEN", "DOWN", "UP", "HASH FAILS", "BANNED",
                "TRANSPORT",
            ])
        // Most recently seen first.
        #expect(lines[1].hasPrefix("[::1]:51413") && lines[1].contains("qBittorrent 4.6.0"))
        #expect(
            lines[1].contains("incoming") && lines[1].contains("2.00 KiB")
                && lines[1].split(separator: " ").suffix(2) == ["no", "-"])
        #expect(lines[2].hasPrefix("127.0.0.1:6881") && lines[2].contains("Transmission 3.0.0.0"))
        #expect(
            lines[2].contains("tracker") && lines[2].contains("1.50 KiB")
                && lines[2].split(separator: " ").suffix(3) == ["2", "yes", "-"])

        let peers = try #require(
            try QueueCommandTests.json(try btq.run(["peers", "1", "--json"]).stdout) as? [[String: Any]])
        #expect(peers.count == 2)
        #expect(
            Set(peers[0].keys) == [
                "torrent_id", "address", "port", "peer_id", "client", "client_name", "source", "first_seen_at",
                "last_seen_at", "downloaded", "uploaded", "hash_failures", "banned", "transport",
            ])
        let banned = peers[1]
        #expect(banned["address"] as? String == "127.0.0.1")
        #expect(banned["port"] as? Int == 6881)
        #expect(banned["peer_id"] as? String == HexCoding.encode(Array("-TR3000-abcdefghijkl".utf8)))
        #expect(banned["client"] is NSNull)
        #expect(banned["client_name"] as? String == "Transmission 3.0.0.0")
        #expect(banned["source"] as? String == "tracker")
        #expect(banned["downloaded"] as? Int == 1536)
        #expect(banned["uploaded"] as? Int == 0)
        #expect(banned["hash_failures"] as? Int == 2)
        #expect(banned["banned"] as? Bool == true)
        #expect(peers[0]["client"] as? String == "qBittorrent 4.6.0")
        #expect(peers[0]["peer_id"] is NSNull)
        #expect(peers[0]["banned"] as? Bool == false)
    }
}
