import Engine
import Foundation
import Store
import Testing

/// `btq verify` keeps the user's intent (issue 10, point 6): a queued or seeding torrent that a recheck
/// finds complete seeds under `btq run` like any finished download; only the seed limits make a torrent
/// `completed`, and a paused one stays paused.
@Suite("btq verify then btq run seeds", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct VerifyThenSeedTests {
    /// `btq add` with the data in place, `btq verify` (no daemon), then `btq run` with `seed_ratio_limit`
    /// 0 (seed for ever): the torrent seeds, and a libtorrent leecher downloads it from btq.
    @Test func verifiedTorrentSeedsUnderTheDaemon() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            try await btq.run(["add", torrent.url.path, "--dir", content.root.path])
            try await btq.run(["config", "set", "seed_ratio_limit", "0"])
            let verified = try await btq.run(["verify", "1", "--quiet"])
            let record = try btq.record(of: torrent)
            scenario.expect(
                record.state == .queued && record.completedAt != nil,
                "after verify: queued as a seed, not completed (\(record.state)): \(verified)")
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the verified torrent seeds", timeout: E2E.startTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            let out = try scenario.folder("leecher")
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: out, peers: ["127.0.0.1:\(port)"])
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download from the verified seed: \(report)")
            scenario.expect(try btq.record(of: torrent).state == .seeding, "it still seeds")
            let completions = try btq.store().queries.events().filter { $0.kind == EventKind.completed.rawValue }
            scenario.expect(completions.count == 1, "one completed event: \(completions)")
        }
    }

    /// With the daemon running, `btq verify` hands the check to it: a seeding torrent found complete seeds
    /// again afterwards, and a paused one stays paused (and is a seed once resumed).
    @Test func verifyUnderTheDaemonKeepsSeedingAndPaused() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let other = try TestContent.singleFile(name: "other.bin", size: 3 << 20, in: scenario.path("other"))
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let seeding = try await btq.create(content, trackers: [tracker.httpAnnounce])
            let paused = try await btq.create(other, trackers: [tracker.httpAnnounce])
            try await tracker.start(whitelisting: [seeding, paused])
            try await btq.run(["add", seeding.url.path, "--dir", content.root.path])
            try await btq.run(["add", paused.url.path, "--dir", other.root.path, "--paused"])
            let seeder = try await BtqSeeder.start(btq, torrents: [], data: content.root)
            try await seeder.process.waitUntil("the first torrent seeds", timeout: E2E.startTimeout) {
                try btq.record(of: seeding).state == .seeding
            }
            let output = try await btq.run(["verify", "1", "2", "--quiet"], timeout: .seconds(120))
            scenario.expect(try btq.record(of: paused).state == .paused, "the paused torrent stays paused: \(output)")
            scenario.expect(try btq.record(of: paused).completedAt != nil, "and is known complete")
            try await seeder.process.waitUntil("the verified torrent seeds again", timeout: E2E.startTimeout) {
                try btq.record(of: seeding).state == .seeding
            }
            try await btq.run(["resume", "2"])
            try await seeder.process.waitUntil("the resumed torrent seeds", timeout: E2E.startTimeout) {
                try btq.record(of: paused).state == .seeding
            }
            let checks = try btq.store().queries.events().filter {
                $0.kind == EventKind.checked.rawValue && $0.detail?.hasPrefix(TorrentChecker.eventPrefix) == true
            }
            scenario.expect(checks.count >= 2, "both torrents were rechecked: \(checks)")
        }
    }
}
