import Engine
import Foundation
import Store
import Testing

/// `btq pause` and `btq resume` through the real executable.
@Suite(.timeLimit(.minutes(5))) struct PauseResumeCommandTests {
    static func states(_ btq: BtqProcess) throws -> [String] {
        let rows = try #require(try QueueCommandTests.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        return rows.sorted { ($0["id"] as? Int ?? 0) < ($1["id"] as? Int ?? 0) }.map { $0["state"] as? String ?? "?" }
    }

    @Test func pauseAndResumeChangeStateAndRecordEvents() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try HistoryCommandTests.addTorrents(btq, ["one", "two"])

        let paused = try btq.run(["pause", "1"])
        #expect(paused.status == 0, "\(paused.stderr)")
        #expect(paused.stdout == "paused #1 one\n")
        #expect(try Self.states(btq) == ["paused", "queued"])

        let again = try btq.run(["pause", "1"])
        #expect(again.status == 0)
        #expect(again.stdout == "#1 one is already paused\n")

        let notPaused = try btq.run(["resume", "2"])
        #expect(notPaused.status == 0)
        #expect(notPaused.stdout == "#2 two is not paused (queued)\n")

        let resumed = try btq.run(["resume", "1"])
        #expect(resumed.status == 0)
        #expect(resumed.stdout == "resumed #1 one\n")
        #expect(try Self.states(btq) == ["queued", "queued"])
        #expect(
            try HistoryCommandTests.events(btq, ["1"]).map { $0["kind"] as? String } == ["added", "paused", "resumed"])
        #expect(try HistoryCommandTests.events(btq, ["2"]).map { $0["kind"] as? String } == ["added"])
    }

    /// A completed torrent seeds again when resumed by name; `--all` leaves completed torrents alone.
    @Test func resumingACompletedTorrentSeedsItAgain() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try HistoryCommandTests.addTorrents(btq, ["one", "two"])
        let store = try BtqStore(path: btq.database)
        for id: Int64 in [1, 2] { try store.queue.setState(torrentId: id, .completed) }
        let all = try btq.run(["resume", "--all"])
        #expect(all.status == 0 && all.stdout.isEmpty, "\(all.stdout)")
        #expect(try Self.states(btq) == ["completed", "completed"])
        let one = try btq.run(["resume", "1"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout == "resumed #1 one: it seeds again\n")
        #expect(try Self.states(btq) == ["queued", "completed"])
    }

    @Test func allPausesAndResumesEveryTorrent() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try HistoryCommandTests.addTorrents(btq, ["one", "two", "three"])
        #expect(try btq.run(["pause", "2"]).status == 0)
        let paused = try btq.run(["pause", "--all"])
        #expect(paused.status == 0)
        #expect(paused.stdout == "paused #1 one\npaused #3 three\n")
        #expect(try Self.states(btq) == ["paused", "paused", "paused"])
        let resumed = try btq.run(["resume", "--all"])
        #expect(resumed.status == 0)
        #expect(resumed.stdout.split(separator: "\n").count == 3)
        #expect(try Self.states(btq) == ["queued", "queued", "queued"])
    }

    @Test func resumeRetriesAFailedTorrentAndClearsItsError() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try HistoryCommandTests.addTorrents(btq, ["one"])
        try BtqStore(path: btq.database).queue.setState(torrentId: 1, .error, error: "disk full")
        let resumed = try btq.run(["resume", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let row = try #require(
            (try QueueCommandTests.json(try btq.run(["info", "1", "--json"]).stdout)) as? [String: Any])
        #expect(row["state"] as? String == "queued")
        #expect(row["last_error"] is NSNull)
        let events = try HistoryCommandTests.events(btq, ["1"])
        #expect(events.map { $0["kind"] as? String } == ["added", "error", "resumed"])
        #expect(events.last?["detail"] as? String == "error -> queued")
    }

    @Test(arguments: ["pause", "resume"])
    func anUnknownNameChangesNothing(_ command: String) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try HistoryCommandTests.addTorrents(btq, ["one", "two"])
        #expect(try btq.run(["pause", "2"]).status == 0)
        let before = try btq.snapshot()
        let result = try btq.run([command, "1", "2", "ffff9999"])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1)
        #expect(result.stdout.isEmpty)
        #expect(try btq.snapshot() == before)
    }

    @Test(arguments: [["pause"], ["resume"], ["pause", "1", "--all"], ["resume", "--all", "2"]])
    func namesOrAllAreRequiredButNotBoth(_ arguments: [String]) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(arguments).status == 64)
    }
}
