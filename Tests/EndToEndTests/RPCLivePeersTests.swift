import Foundation
import TestSupport
import Testing

/// `peers` of `torrent-get` while btq downloads: the running session's peers with their real rates,
/// not the peer history.
@Suite("the RPC's live peers", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(10)))
struct RPCLivePeersTests {
    @Test func peersAreTheRunningSessionsWithTheirRates() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "live.bin", size: 6 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            // The seed sends 512 KiB/s at most: the download takes about 12 s, long enough to watch.
            let limit = 512 * 1024
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: limit)
            let daemon = try await RPCDaemon.start(btq)
            try await daemon.remote(["-a", torrent.url.path, "-w", try scenario.folder("download").path])
            let id = try btq.record(of: torrent).id
            let request =
                #"{"method":"torrent-get","arguments":{"fields":["id","peers","peersConnected"],"ids":["#
                + "\(id)]}}"
            var last: [String: Any] = [:]
            var rate = 0
            let seen = try await poll(timeout: E2E.downloadTimeout, interval: .milliseconds(300)) {
                let answer = try daemon.call(request)
                last = answer
                let torrents = (answer["arguments"] as? [String: Any])?["torrents"] as? [[String: Any]] ?? []
                let peers = torrents.first?["peers"] as? [[String: Any]] ?? []
                guard
                    let seed = peers.first(where: {
                        $0["port"] as? Int == Int(seeder.port) && $0["address"] as? String == "127.0.0.1"
                    })
                else { return false }
                rate = seed["rateToClient"] as? Int ?? 0
                return rate > 0 && (seed["flagStr"] as? String)?.contains("D") == true
                    && (seed["isDownloadingFrom"] as? Bool) == true && (torrents.first?["peersConnected"] as? Int) == 1
            }
            scenario.expect(seen, "the seed is listed with a download rate while btq downloads: \(last)")
            // A real rate: the seed's limit, give or take the window's rounding (not a lifetime count).
            scenario.expect(rate <= 3 * limit, "the rate \(rate) is near the seed's limit \(limit): \(last)")
            try await daemon.process.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }
        }
    }
}
