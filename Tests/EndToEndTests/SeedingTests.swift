import Engine
import Foundation
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The acceptance tests of seeding (issue 5): btq uploads to real BitTorrent programs on 127.0.0.1,
/// as the only seed and while it still downloads, and obeys its rate limits.
@Suite("btq seeds to real peers", .enabled(if: E2E.isEnabled))
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
            let peers = try btq.store().peers(torrentId: record.id)
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
            let source = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1_500_000)
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
            let leecherPieces = try leecher.status().torrents.first?.pieces.filter { $0 == "1" }.count ?? 0
            // btq exits once its download is verified, and the source is the only place btq gets data from.
            let sent = try await source.status(after: .now) { _ in true }.uploaded
            scenario.expect(
                get.isRunning,
                "btq get should still be downloading when the leecher got its first pieces\n\(get.logTail())")
            scenario.expect(
                sent < content.totalSize,
                "the source had sent btq \(sent) of \(content.totalSize) bytes when the leecher had \(leecherPieces) pieces"
            )
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

    /// With `download_rate_limit` 2M (2 MiB/s), a 20 MiB download from an unlimited libtorrent seeder
    /// takes at least 9 s. The achieved rate is printed.
    @Test func downloadRateLimit() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "limited.bin", size: 20 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            try await btq.run(["config", "set", "download_rate_limit", "2M"])
            let out = try scenario.folder("download")
            let result = try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the limited download: \(report)")
            let rate = Double(content.totalSize) / result.seconds
            print(
                "[e2e] 20 MiB under a 2 MiB/s download limit: \(String(format: "%.2f", result.seconds)) s, "
                    + "\(String(format: "%.0f", rate)) B/s (\(String(format: "%.2f", rate / 1_048_576)) MiB/s)")
            scenario.expect(result.seconds >= 9, "took only \(result.seconds) s under a 2 MiB/s limit")
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
