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

    /// `btq remove` then `btq add` of a torrent the daemon is downloading, before its next pass: the row is
    /// revived at once (same id, history kept), but the session of the removed torrent writes nothing into
    /// it. The daemon stops that session and downloads the torrent afresh into its new folder.
    @Test func aTorrentRemovedAndAddedAgainBetweenPassesDownloadsAfresh() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "again.bin", size: 16 << 20, in: scenario.path("data"))
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [tracker.httpAnnounce])
            try await tracker.start(whitelisting: [torrent])
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let firstOut = try scenario.folder("download-first")
            let againOut = try scenario.folder("download-again")
            // Slow enough that the first session is still downloading when the torrent is added again.
            try await btq.run(["config", "set", "download_rate_limit", "2M"])
            try await btq.run(["add", torrent.url.path, "--dir", firstOut.path])
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the first session has verified pieces", timeout: E2E.downloadTimeout) {
                let record = try btq.record(of: torrent)
                return record.state == .downloading && record.piecesDone > 0
            }
            // Both writes within a millisecond or so, far inside one pass of the daemon (0.5 s), as a
            // script running `btq remove` and `btq add` back to back can get.
            let store = try btq.store()
            let id = try btq.record(of: torrent).id
            try store.queue.remove(torrentId: id, purge: false)
            let added = try store.adder.add(
                NewTorrent(
                    source: .metainfo(try Metainfo(bytes: Array(Data(contentsOf: torrent.url)))),
                    saveDirectory: againOut.path))
            guard case .added(let again) = added, again.id == id else {
                scenario.expect(false, "the torrent is added again in its old row: \(added)")
                return
            }
            try await btq.run(["config", "set", "download_rate_limit", "0"])
            try await daemon.waitUntil("the old session stops", timeout: .seconds(30)) {
                ((try? String(contentsOf: daemon.logURL, encoding: .utf8)) ?? "").contains(
                    "stopped #\(id) again.bin: removed and added again")
            }
            try await daemon.waitUntil("the torrent added again completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            let report = TestContent.verify(downloaded: againOut, against: content)
            scenario.expect(report.isOK, "the torrent added again is whole in its new folder: \(report)")
            let record = try btq.record(of: torrent)
            scenario.expect(
                record.saveDirectory == againOut.path && record.id == id,
                "the same row, pointing at the new folder: \(record)")
            let events = try store.queries.events(torrentId: id).map(\.kind)
            scenario.expect(
                events.filter { $0 == "added" }.count == 2 && events.filter { $0 == "completed" }.count == 1,
                "the history has both additions and one completion (the new session's): \(events)")
            kill(daemon.pid, SIGINT)
            let status = await daemon.waitForExit(timeout: .seconds(10))
            scenario.expect(status == 0, "btq run exits 0 on SIGINT (status \(String(describing: status)))")
        }
    }
}
