import Foundation
import Testing

/// `btq order`, `btq add --sequential/--first-last` and `btq files --high/--low`, through the real
/// executable and a real database.
@Suite(.timeLimit(.minutes(5))) struct OrderCommandTests {
    static func order(_ btq: BtqProcess, _ id: Int) throws -> String? {
        let info = try #require(
            try QueueCommandTests.json(try btq.run(["info", "\(id)", "--json"]).stdout) as? [String: Any])
        return info["download_order"] as? String
    }

    @Test func addSetsTheOrderAndOrderChangesIt() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let dir = btq.folder.appendingPathComponent("dl").path
        let one = try QueueCommandTests.makeTorrent(btq, name: "one")
        let two = try QueueCommandTests.makeTorrent(btq, name: "two")
        let three = try QueueCommandTests.makeTorrent(btq, name: "three")
        #expect(try btq.run(["add", one, "--dir", dir]).status == 0)
        let added = try btq.run(["add", two, "--dir", dir, "--sequential"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.hasSuffix(", sequential\n"))
        #expect(try btq.run(["add", three, "--dir", dir, "--first-last"]).status == 0)
        #expect(try Self.order(btq, 1) == "rarest")
        #expect(try Self.order(btq, 2) == "sequential")
        #expect(try Self.order(btq, 3) == "first-last")
        let rows = try #require(try QueueCommandTests.json(try btq.run(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(rows.map { $0["download_order"] as? String } == ["rarest", "sequential", "first-last"])

        let shown = try btq.run(["order", "1"])
        #expect(shown.status == 0)
        #expect(shown.stdout == "#1 one: rarest\n")
        let set = try btq.run(["order", "1", "sequential"])
        #expect(set.stdout == "#1 one: sequential\n", "\(set.stderr)")
        #expect(try Self.order(btq, 1) == "sequential")
        #expect(try btq.run(["info", "1"]).stdout.contains("Order:"))
        let history = try btq.run(["history", "1"])
        #expect(history.stdout.contains("rarest -> sequential"), "\(history.stdout)")

        let bad = try btq.run(["order", "1", "backwards"])
        #expect(bad.status != 0)
        #expect(try Self.order(btq, 1) == "sequential")
        let both = try btq.run(["add", one, "--sequential", "--first-last"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("do not go together"))
    }

    @Test func filesHighAndLowSetPriorities() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try QueueCommandTests.makeTorrent(
            btq, files: ["a.bin": 1000, "b.bin": 1000, "c.bin": 1000, "d.bin": 1000])
        #expect(try btq.run(["add", torrent, "--dir", btq.folder.appendingPathComponent("dl").path]).status == 0)
        let changed = try btq.run(["files", "1", "--high", "0,2", "--low", "1", "--skip", "3"])
        #expect(changed.status == 0, "\(changed.stderr)")
        let lines = changed.stdout.split(separator: "\n").dropFirst()
        #expect(lines.map { $0.contains("high") } == [true, false, true, false])
        #expect(lines.map { $0.contains("low") } == [false, true, false, false])
        #expect(lines.map { $0.contains("skip") } == [false, false, false, true])
        let files = try #require(
            try QueueCommandTests.json(try btq.run(["files", "1", "--json"]).stdout) as? [[String: Any]])
        #expect(files.map { $0["priority"] as? Int } == [7, 1, 7, 0])
        #expect(try btq.run(["files", "1", "--want", "0-3"]).status == 0)
        let again = try #require(
            try QueueCommandTests.json(try btq.run(["files", "1", "--json"]).stdout) as? [[String: Any]])
        #expect(again.map { $0["priority"] as? Int } == [4, 4, 4, 4])
        #expect(try btq.run(["files", "1", "--high", "x"]).status != 0)
    }
}
