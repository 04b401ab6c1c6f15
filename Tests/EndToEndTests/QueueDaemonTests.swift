import Engine
import Foundation
import Store
import Testing

/// `btq run` works the queue: it downloads what is queued, picks up torrents added while it runs,
/// writes progress that `btq list` shows, and stops cleanly on SIGINT.
@Suite("btq run works the queue", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct QueueDaemonTests {
    @Test func daemonDownloadsQueueAndLateAdditions() async {
        await Scenario.run { scenario in
            let first = try TestContent.singleFile(name: "first.bin", size: 24 << 20, in: scenario.path("data"))
            let second = try TestContent.tree(in: scenario.path("data2"))
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let firstTorrent = try await btq.create(first, trackers: [tracker.httpAnnounce])
            let secondTorrent = try await btq.create(second, trackers: [tracker.httpAnnounce])
            try await tracker.start(whitelisting: [firstTorrent, secondTorrent])
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [firstTorrent], data: first.root)
            _ = try await LibtorrentSeeder.start(
                in: scenario, name: "tree seeder", torrents: [secondTorrent], data: second.root)
            let firstOut = try scenario.folder("download-first")
            let secondOut = try scenario.folder("download-second")
            try await btq.run(["add", firstTorrent.url.path, "--dir", firstOut.path])

            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable,
                ["run", "--port", "\(port)", "--bind-address", "127.0.0.1", "--max-active", "1"],
                environment: ["BTQ_DB": btq.database.path])
            // A finished download goes on seeding, and frees its download slot for the next one.
            try await daemon.waitUntil("the first torrent completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: firstTorrent).state == .seeding
            }
            // Added while the daemon runs: it must notice it by itself.
            try await btq.run(["add", secondTorrent.url.path, "--dir", secondOut.path])
            try await daemon.waitUntil("the torrent added later completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: secondTorrent).state == .seeding
            }
            let listed = try await btq.run(["list"])
            scenario.expect(
                listed.split(separator: "\n").filter { $0.contains("seeding") }.count == 2,
                "btq list shows both torrents seeding:\n\(listed)")
            for (content, out, name) in [(first, firstOut, "first"), (second, secondOut, "tree")] {
                let report = TestContent.verify(downloaded: out, against: content)
                scenario.expect(report.isOK, "the \(name) torrent downloaded by btq run: \(report)")
            }

            kill(daemon.pid, SIGINT)
            let status = await daemon.waitForExit(timeout: .seconds(5))
            scenario.expect(status == 0, "btq run exits 0 within 5 s of SIGINT (status \(String(describing: status)))")
            let events = try btq.store().queries.events().map(\.kind)
            scenario.expect(
                events.filter { $0 == "completed" }.count == 2, "two completed events in the history: \(events)")
        }
    }

    @Test func secondDaemonIsRefused() async {
        await Scenario.run { scenario in
            let btq = try Btq(scenario)
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            let lock = btq.database.path + ".lock"
            try await daemon.waitUntil("the daemon holds its lock", timeout: .seconds(30)) {
                ((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").contains("\(daemon.pid)")
            }
            let second = try await scenario.runTool(
                "second btq run", Btq.executable, ["run", "--port", "\(port + 1)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            scenario.expect(second.status == 1, "a second daemon exits 1 (status \(second.status))")
            scenario.expect(
                second.output.contains("another btq daemon"), "it says why: \(second.output)")
            kill(daemon.pid, SIGTERM)
            let status = await daemon.waitForExit(timeout: .seconds(5))
            scenario.expect(status == 0, "SIGTERM stops the daemon cleanly (status \(String(describing: status)))")
        }
    }
}
