import Engine
import Foundation
import Store
import Testing

/// The queue manager: a limit on active downloads taken from the database, queue order, and pause,
/// resume and move from the CLI reaching a running daemon; stalled downloads give up their slot.
@Suite("btq run manages the queue", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct QueueManagerTests {
    /// The most torrents in `state` at once, replayed from the history: each state change is recorded
    /// (as `old -> new`) in the transaction that makes it, so the replay sees every transition in order.
    static func mostAtOnce(_ state: TorrentState, in events: [EventRecord]) -> Int {
        var states: [Int64: TorrentState] = [:]
        var most = 0
        for event in events {
            guard let id = event.torrentId, let detail = event.detail, let arrow = detail.range(of: " -> "),
                TorrentState(rawValue: String(detail[..<arrow.lowerBound])) != nil,
                let new = TorrentState(rawValue: String(detail[arrow.upperBound...].prefix { $0 != ":" }))
            else { continue }
            states[id] = new
            most = max(most, states.values.count { $0 == state })
        }
        return most
    }

    @Test func twoAtATimeInQueueOrderWithPauseResumeAndMove() async {
        await Scenario.run { scenario in
            var contents: [TestContent] = []
            for index in 1...5 {
                contents.append(
                    try TestContent.singleFile(
                        name: "item\(index).bin", size: 3 << 20, seed: UInt64(50 + index), in: scenario.path("data")))
            }
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            var torrents: [TestTorrent] = []
            for content in contents { torrents.append(try await btq.create(content, trackers: [tracker.httpAnnounce])) }
            try await tracker.start(whitelisting: torrents)
            // One seeder for all five, 1.5 MB/s in all: each download lasts a few seconds.
            _ = try await LibtorrentSeeder.start(
                in: scenario, torrents: torrents, data: scenario.path("data"), uploadRate: 1_500_000)
            let out = try scenario.folder("download")
            for torrent in torrents { try await btq.run(["add", torrent.url.path, "--dir", out.path]) }
            // This test is about downloading: a finished torrent is completed, not seeding.
            try await btq.run(["config", "set", "max_active_seeds", "0"])
            let ids = try torrents.map { try btq.record(of: $0).id }
            try await btq.run(["config", "set", "max_active_downloads", "2"])

            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(try FreePort.next())"],
                environment: ["BTQ_DB": btq.database.path])
            let store = try btq.store()
            let queued = torrents
            @Sendable func state(_ index: Int) throws -> TorrentState { try btq.record(of: queued[index]).state }

            try await daemon.waitUntil("the first two start", timeout: .seconds(30)) {
                try state(0) == .downloading && state(1) == .downloading
            }
            scenario.expect(
                try (2..<5).allSatisfy { try state($0) == .queued }, "the other three wait in the queue")

            try await btq.run(["pause", "\(ids[1])"])
            try await daemon.waitUntil("the paused one stops and the third starts", timeout: .seconds(3)) {
                try state(1) == .paused && state(2) == .downloading
            }
            try await btq.run(["move", "\(ids[4])", "top"])
            try await btq.run(["resume", "\(ids[1])"])
            try await daemon.waitUntil("every torrent completes", timeout: E2E.downloadTimeout) {
                try (0..<5).allSatisfy { try state($0) == .completed }
            }
            // Replayed from every state change the database recorded, not sampled: no overlap is missed.
            let most = Self.mostAtOnce(.downloading, in: try store.queries.events())
            scenario.expect(most == 2, "never more than two downloads at once (\(most))")

            let started = try store.queries.events().filter { $0.kind == "started" }.compactMap(\.torrentId)
            // The fifth was moved to the top, ahead of the resumed second and the fourth.
            let expected = [ids[0], ids[1], ids[2], ids[4], ids[1], ids[3]]
            scenario.expect(started == expected, "downloads started in queue order \(expected): \(started)")
            for content in contents {
                let report = TestContent.verify(downloaded: out, against: content)
                scenario.expect(report.isOK, "\(content.name): \(report)")
            }

            // btq verify with the daemon running: the daemon rechecks, finds the damaged piece, and the
            // torrent downloads it again.
            let damaged = out.appendingPathComponent(contents[2].name)
            let handle = try FileHandle(forUpdating: damaged)
            try handle.seek(toOffset: 1_000_000)
            let byte = try handle.read(upToCount: 1)?.first ?? 0
            try handle.seek(toOffset: 1_000_000)
            try handle.write(contentsOf: [byte ^ 0xFF])
            try handle.close()
            let verified = try await btq.run(["verify", "\(ids[2])"])
            scenario.expect(
                verified.contains("11 of 12 pieces valid"), "the daemon's recheck finds the damaged piece:\n\(verified)"
            )
            try await daemon.waitUntil("the damaged torrent is complete again", timeout: E2E.downloadTimeout) {
                try state(2) == .completed
            }
            scenario.expect(
                TestContent.verify(downloaded: out, against: contents[2]).isOK, "the damaged piece was fetched again")
            kill(daemon.pid, SIGTERM)
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }

    @Test func aStalledDownloadGivesUpItsSlot() async {
        await Scenario.run { scenario in
            let dead = try TestContent.singleFile(
                name: "nobody-has-it.bin", size: 1 << 20, seed: 60, in: scenario.path("d1"))
            let live = try TestContent.singleFile(name: "seeded.bin", size: 2 << 20, seed: 61, in: scenario.path("d2"))
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let deadTorrent = try await btq.create(dead, trackers: [tracker.httpAnnounce])
            let liveTorrent = try await btq.create(live, trackers: [tracker.httpAnnounce])
            try await tracker.start(whitelisting: [deadTorrent, liveTorrent])
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [liveTorrent], data: live.root)
            let out = try scenario.folder("download")
            try await btq.run(["add", deadTorrent.url.path, liveTorrent.url.path, "--dir", out.path])
            // This test is about downloading: a finished torrent is completed, not seeding.
            try await btq.run(["config", "set", "max_active_seeds", "0"])
            try await btq.run(["config", "set", "stall_timeout", "10"])
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(try FreePort.next())", "--max-active", "1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the torrent nobody seeds starts first", timeout: .seconds(30)) {
                try btq.record(of: deadTorrent).state == .downloading
            }
            try await daemon.waitUntil("the seeded one completes in the stalled one's slot", timeout: .seconds(60)) {
                try btq.record(of: liveTorrent).state == .completed
            }
            let deadId = try btq.record(of: deadTorrent).id
            let stalled = try btq.store().queries.events(torrentId: deadId).filter { $0.kind == "stalled" }
            scenario.expect(stalled.count == 1, "one stalled event for the torrent without peers: \(stalled)")
            // The second waited for the only slot: it started after the first stalled, not before (read from
            // the history, so a slow machine that polls late cannot miss it).
            let liveStarts = try btq.store().queries.events(torrentId: try btq.record(of: liveTorrent).id)
                .filter { $0.kind == "started" }.map(\.id)
            scenario.expect(
                !liveStarts.isEmpty && liveStarts.allSatisfy { $0 > (stalled.first?.id ?? .max) },
                "the second starts only once the first stalled: started \(liveStarts), stalled \(stalled.map(\.id))")
            scenario.expect(
                try btq.record(of: deadTorrent).state == .downloading,
                "the stalled one keeps trying (still downloading)")
            kill(daemon.pid, SIGTERM)
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }
}
