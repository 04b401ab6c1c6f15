import Engine
import Foundation
import Store
import Testing

/// IPv6 end to end (issue 12): btq finds, dials and accepts peers on `[::1]` with real libtorrent
/// peers. The installed opentracker is built for IPv4 only, so the tracker here is
/// `Support/swarm_tracker.py` (on `[::1]`), which hands IPv6 peers out in `peers6`. IPv6 PEX
/// (`added6`) is tested with the IPv4 one, in ``MagnetTests``.
@Suite("btq over IPv6", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct IPv6Tests {
    /// btq (on 127.0.0.1, so the seed cannot reach it) downloads everything from a libtorrent seed that
    /// listens only on `[::1]`, learned from `source`: `tracker`, a tracker on `[::1]` that the seed
    /// announced to, in its `peers6`; `manual`, `btq get --peer [::1]:PORT`.
    @Test(arguments: ["tracker", "manual"]) func downloadsFromASeedOnIPv6(source: String) async {
        await Scenario.run { scenario in
            try await E2E.requireIPv6Loopback()
            let content = try TestContent.singleFile(name: "six.bin", size: 8 << 20, in: scenario.path("data"))
            let tracker = source == "tracker" ? try await SwarmTracker.start(in: scenario) : nil
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: tracker.map { [$0.announce] } ?? [])
            let seed = try await LibtorrentSeeder.start(
                in: scenario, name: "libtorrent seed on [::1]", torrents: [torrent], data: content.root,
                listen: ["::1"])
            if let tracker {
                try await seed.process.waitUntil("the tracker knows the seed", timeout: E2E.startTimeout) {
                    tracker.peers(of: torrent).contains(seed.address)
                }
            }
            let out = try scenario.folder("download")
            let result = try await btq.get(
                [torrent.url.path], into: out, peers: tracker == nil ? [seed.address] : [])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download from the IPv6 seed: \(report)")
            let peers = try await btq.expectDownloaded(
                from: "::1", port: seed.port, source: source, of: torrent, in: scenario)
            scenario.expect(
                peers.filter { $0.downloaded > 0 }.allSatisfy { $0.address == "::1" && $0.port == Int(seed.port) },
                "every byte came from the IPv6 seed: \(peers)")
            print(
                "[e2e] IPv6 (\(source)): btq downloaded from \(seed.address) in "
                    + "\(String(format: "%.1f", result.seconds)) s")
        }
    }

    /// btq seeds on `[::1]` (`--bind-address ::1`); a libtorrent leecher on `[::1]` that knows only
    /// that address connects and downloads everything; btq records the incoming IPv6 peer.
    @Test func libtorrentLeechesFromBtqOverIPv6() async {
        await Scenario.run { scenario in
            try await E2E.requireIPv6Loopback()
            let content = try TestContent.singleFile(name: "incoming6.bin", size: 8 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root, bindAddress: "::1")
            let log = String(decoding: (try? Data(contentsOf: seeder.process.logURL)) ?? Data(), as: UTF8.self)
            scenario.expect(log.contains("listening on \(seeder.address)"), "btq says where it listens:\n\(log)")
            let out = try scenario.folder("leecher")
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: out, peers: [seeder.address], listen: ["::1"])
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download from btq over IPv6: \(report)")
            let total = Int64(content.totalSize)
            try await seeder.process.waitUntil("btq saved its upload totals", timeout: .seconds(10)) {
                try btq.record(of: torrent).uploaded >= total
            }
            let peers = try btq.store().queries.peers(torrentId: try btq.record(of: torrent).id)
            let listing = peers.map { "\($0.address) \($0.port) \($0.source) up=\($0.uploaded)" }
            scenario.expect(
                peers.contains { $0.address == "::1" && $0.source == "incoming" && $0.uploaded > 0 },
                "the peer history has the incoming IPv6 leecher with bytes uploaded: \(listing)")
            print("[e2e] IPv6 incoming: libtorrent leeched \(content.totalSize) bytes from btq at \(seeder.address)")
        }
    }
}
