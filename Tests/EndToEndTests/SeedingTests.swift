import Engine
import Foundation
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The acceptance tests of seeding (issue 5): btq uploads to real BitTorrent programs on 127.0.0.1,
/// as the only seed and while it still downloads, and obeys its rate limits.
@Suite("btq seeds to real peers", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct SeedingTests {
    /// btq (the queue daemon, data already in place) is the only seed of the multi-file tree; a
    /// libtorrent leecher that knows only btq's listening address downloads it byte-identically, and
    /// btq records what it uploaded.
    @Test func libtorrentLeechesTreeFromBtq() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let out = try scenario.folder("leecher")
            let started = ContinuousClock.now
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: out, peers: [seeder.address])
            try await leecher.waitUntilComplete()
            let seconds = Self.seconds(since: started)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download from btq: \(report)")
            print(
                "[e2e] libtorrent leeched \(content.totalSize) bytes from btq in \(String(format: "%.2f", seconds)) s"
                    + " (\(String(format: "%.1f", Double(content.totalSize) / seconds / 1e6)) MB/s, start-up included)")

            // What btq sent is saved within a few seconds; the peer history has it too.
            let total = Int64(content.totalSize)
            try await seeder.process.waitUntil("btq saved its upload totals", timeout: .seconds(10)) {
                try btq.record(of: torrent).uploaded >= total
            }
            let record = try btq.record(of: torrent)
            scenario.expect(record.state == .seeding, "btq still seeds: \(record.state)")
            let peers = try btq.store().queries.peers(torrentId: record.id)
            scenario.expect(
                peers.contains { $0.source == "incoming" && $0.uploaded > 0 },
                "the peer history has the incoming leecher with bytes uploaded: \(peers)")
            let listed = try await btq.run(["list"])
            scenario.expect(listed.contains("seeding"), "btq list shows the torrent seeding:\n\(listed)")
        }
    }

    /// btq is the only seed of the tree and dials a transmission-daemon leecher (Transmission never
    /// dials 127.0.0.1 itself), which downloads it byte-identically. (Transmission does not create
    /// empty files, so those are left out of the comparison.)
    @Test func transmissionLeechesTreeFromBtq() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            let out = try scenario.folder("leecher")
            let leecher = try await TransmissionLeecher.start(in: scenario, torrent: torrent, into: out)
            let started = ContinuousClock.now
            _ = try await BtqSeeder.start(
                btq, torrents: [torrent], data: content.root, extra: ["--peer", leecher.address])
            try await leecher.waitUntilComplete(torrent)
            let seconds = Self.seconds(since: started)
            let nonEmpty = Set(content.files.filter { $0.size > 0 }.map(\.path))
            let report = TestContent.verify(downloaded: out, against: content, only: nonEmpty)
            scenario.expect(report.isOK, "transmission's download from btq: \(report)")
            print(
                "[e2e] transmission leeched \(content.totalSize) bytes from btq in \(String(format: "%.2f", seconds)) s"
                    + " (check and start-up included)")
        }
    }

    /// btq downloads from a slow libtorrent seeder (rate-limited) and a libtorrent leecher connected
    /// only to btq gets pieces from btq before btq's own download has finished.
    @Test func uploadsWhileDownloading() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "relay.bin", size: 16 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            // No tracker: each peer knows only whom it is told to, so the leecher can reach only btq.
            let torrent = try await btq.create(content, trackers: [])
            // About 16 s for the whole file: the leecher, which starts after btq, has time to get pieces
            // from btq before btq's own download ends, even on a loaded machine.
            let source = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1_000_000)
            let port = try FreePort.next()
            let out = try scenario.folder("btq")
            let get = try scenario.start(
                "btq get", Btq.executable,
                [
                    "get", torrent.url.path, "--dir", out.path, "--port", "\(port)", "--bind-address", "127.0.0.1",
                    "--peer", source.address,
                ], environment: ["BTQ_DB": btq.database.path])
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: try scenario.folder("leecher"), peers: ["127.0.0.1:\(port)"])
            try await get.waitUntil("the leecher has pieces from btq", timeout: E2E.downloadTimeout) {
                let status = try? leecher.status()
                return (status?.torrents.first?.pieces.filter { $0 == "1" }.count ?? 0) >= 2
            }
            let leecherStatus = try leecher.status().torrents.first
            let leecherPieces = leecherStatus?.pieces.filter { $0 == "1" }.count ?? 0
            let received =
                "\(leecherStatus?.downloaded ?? 0) bytes received, \(leecherStatus?.failedBytes ?? 0) failed their check"

            // btq exits once its download is verified, and the source is the only place btq gets data from.
            let sent = try await source.status(after: .now) { _ in true }.uploaded
            scenario.expect(
                get.isRunning,
                "btq get should still be downloading when the leecher got its first pieces\n\(get.logTail())")
            scenario.expect(
                sent < content.totalSize,
                "the source had sent btq \(sent) of \(content.totalSize) bytes when the leecher had \(leecherPieces) pieces"
                    + " (\(received))")
            print(
                "[e2e] the leecher had \(leecherPieces) pieces from btq while the source had sent btq \(sent) of "
                    + "\(content.totalSize) bytes")
            guard let status = await get.waitForExit(timeout: E2E.downloadTimeout), status == 0 else {
                throw HarnessError("btq get did not finish\n\(get.logTail())")
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's own download: \(report)")
        }
    }

    enum LimitScope: String, CaseIterable, Sendable {
        /// The setting `download_rate_limit`, shared by every torrent.
        case global
        /// The torrent's own limit, `btq limit <t> --down`.
        case torrent
    }

    /// With a 2 MiB/s download limit (2M; global, or the torrent's own), a 20 MiB download from an
    /// unlimited libtorrent seeder takes at least 9 s. The achieved rate is printed.
    @Test(arguments: LimitScope.allCases)
    func downloadRateLimit(_ scope: LimitScope) async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "limited.bin", size: 20 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            let result: Btq.GetResult
            switch scope {
            case .global:
                try await btq.run(["config", "set", "download_rate_limit", "2M"])
                result = try await btq.get([torrent.url.path], into: out)
            case .torrent:
                try await btq.run(["add", torrent.url.path, "--dir", out.path])
                try await btq.run(["limit", "1", "--down", "2M"])
                result = try await btq.get(["1"], into: out)
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the limited download: \(report)")
            let rate = Double(content.totalSize) / result.seconds
            print(
                "[e2e] 20 MiB under a 2 MiB/s \(scope.rawValue) download limit: "
                    + "\(String(format: "%.2f", result.seconds)) s, \(String(format: "%.0f", rate)) B/s "
                    + "(\(String(format: "%.2f", rate / 1_048_576)) MiB/s)")
            scenario.expect(result.seconds >= 9, "took only \(result.seconds) s under a 2 MiB/s limit")
        }
    }

    /// With `upload_rate_limit` 1M, btq seeds 8 MiB to a libtorrent leecher in no less than 6 s.
    @Test func uploadRateLimit() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "slow.bin", size: 8 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            try await btq.run(["config", "set", "upload_rate_limit", "1M"])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let started = ContinuousClock.now
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: try scenario.folder("leecher"), peers: [seeder.address])
            try await leecher.waitUntilComplete()
            let seconds = Self.seconds(since: started)
            print(
                "[e2e] 8 MiB seeded under a 1 MiB/s upload limit: \(String(format: "%.2f", seconds)) s, "
                    + "\(String(format: "%.2f", Double(content.totalSize) / seconds / 1_048_576)) MiB/s")
            scenario.expect(seconds >= 6, "took only \(seconds) s under a 1 MiB/s upload limit")
        }
    }

    /// With `seed_ratio_limit` 1, btq stops seeding once it has uploaded as much as it holds: the
    /// torrent becomes `completed`, with a `seed-limit` event saying why.
    @Test func seedRatioLimitEndsSeeding() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            try await btq.run(["config", "set", "seed_ratio_limit", "1"])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: try scenario.folder("leecher"), peers: [seeder.address])
            try await leecher.waitUntilComplete()
            try await seeder.process.waitUntil("the torrent stops seeding", timeout: .seconds(15)) {
                try btq.record(of: torrent).state == .completed
            }
            let record = try btq.record(of: torrent)
            scenario.expect(record.state == .completed, "state after the ratio limit: \(record.state)")
            scenario.expect(record.uploaded >= record.bytesDone, "uploaded \(record.uploaded) of \(record.bytesDone)")
            let events = try btq.store().queries.events(torrentId: record.id).map { "\($0.kind): \($0.detail ?? "")" }
            scenario.expect(events.contains { $0.hasPrefix("seed-limit: ratio") }, "a seed-limit event: \(events)")
            scenario.expect(seeder.process.isRunning, "the daemon goes on running")
        }
    }

    /// With `seed_time_limit` 3 (seconds), a seed stops after seeding that long: `completed`, with a
    /// `seed-limit` event, and its seeding time saved.
    @Test func seedTimeLimitEndsSeeding() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "short.bin", size: 1 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            try await btq.run(["config", "set", "seed_time_limit", "3s"])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let seeding = ContinuousClock.now
            try await seeder.process.waitUntil("the torrent stops seeding", timeout: .seconds(20)) {
                try btq.record(of: torrent).state == .completed
            }
            let seconds = Self.seconds(since: seeding)
            scenario.expect(seconds >= 2, "seeded only \(seconds) s under a 3 s limit")
            let record = try btq.record(of: torrent)
            let stored = try btq.store().limits.seedingSeconds(torrentId: record.id)
            scenario.expect(stored >= 3, "seeding time saved: \(stored) s")
            let events = try btq.store().queries.events(torrentId: record.id).map { "\($0.kind): \($0.detail ?? "")" }
            scenario.expect(events.contains { $0.hasPrefix("seed-limit: seeded") }, "a seed-limit event: \(events)")
        }
    }

    /// `btq get --seed` downloads, then seeds: a libtorrent leecher that knows only btq gets the
    /// torrent from it, and `seed_ratio_limit` 1 ends the command (status 0, state `completed`).
    @Test func getSeedsUntilTheRatioLimit() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let source = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            try await btq.run(["config", "set", "seed_ratio_limit", "1"])
            let port = try FreePort.next()
            let out = try scenario.folder("btq")
            let get = try scenario.start(
                "btq get --seed", Btq.executable,
                [
                    "get", torrent.url.path, "--dir", out.path, "--port", "\(port)", "--bind-address", "127.0.0.1",
                    "--peer", source.address, "--seed",
                ], environment: ["BTQ_DB": btq.database.path])
            try await get.waitUntil("btq seeds", timeout: E2E.downloadTimeout) {
                (try? btq.record(of: torrent).state) == .seeding  // not in the database at first
            }
            try scenario.require(get.isRunning, "btq get --seed exited after its download\n\(get.logTail())")
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: try scenario.folder("leecher"), peers: ["127.0.0.1:\(port)"])
            try await leecher.waitUntilComplete()
            guard let status = await get.waitForExit(timeout: .seconds(30)) else {
                throw HarnessError("btq get --seed did not stop at its ratio limit\n\(get.logTail())")
            }
            scenario.expect(status == 0, "btq get --seed exits 0 (status \(status))\n\(get.logTail())")
            let record = try btq.record(of: torrent)
            scenario.expect(record.state == .completed, "state after seeding: \(record.state)")
            scenario.expect(record.uploaded >= record.downloaded, "uploaded \(record.uploaded) of \(record.downloaded)")
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's own download: \(report)")
        }
    }

    /// Lowering `max_active_seeds` while the daemon seeds stops the seeds furthest down the queue: they
    /// wait `queued` for a seed slot; raising it again starts them.
    @Test func loweringMaxActiveSeedsStopsTheLastSeeds() async {
        await Scenario.run { scenario in
            let first = try TestContent.singleFile(name: "first.bin", size: 1 << 20, in: scenario.path("data"))
            let second = try TestContent.singleFile(
                name: "second.bin", size: 1 << 20, seed: 2, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrents = [
                try await btq.create(first, trackers: []), try await btq.create(second, trackers: []),
            ]
            let seeder = try await BtqSeeder.start(btq, torrents: torrents, data: first.root)
            try await btq.run(["config", "set", "max_active_seeds", "1"])
            try await seeder.process.waitUntil("the second torrent stops seeding", timeout: .seconds(10)) {
                try btq.record(of: torrents[1]).state == .queued
            }
            scenario.expect(try btq.record(of: torrents[0]).state == .seeding, "the first in the queue seeds on")
            try await btq.run(["config", "set", "max_active_seeds", "2"])
            try await seeder.process.waitUntil("the second torrent seeds again", timeout: .seconds(10)) {
                try btq.record(of: torrents[1]).state == .seeding
            }
        }
    }

    /// With `max_active_seeds` 0 nothing seeds: a download the daemon finishes is `completed` at once,
    /// with one `completed` event and no seeding in its history.
    @Test func noSeedSlotsMeansCompleted() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            try await btq.run(["config", "set", "max_active_seeds", "0"])
            let out = try scenario.folder("download")
            try await btq.run(["add", torrent.url.path, "--dir", out.path])
            let daemon = try scenario.start(
                "btq run", Btq.executable,
                ["run", "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .completed
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download: \(report)")
            let details = try btq.store().queries.events().map { "\($0.kind) \($0.detail ?? "")" }
            scenario.expect(
                details.filter { $0.hasPrefix("completed") }.count == 1 && !details.contains { $0.contains("seeding") },
                "one completed event and no seeding: \(details)")
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
