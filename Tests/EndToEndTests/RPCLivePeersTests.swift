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
                #"{"method":"torrent-get","arguments":{"fields":["id","peers","peersConnected","peersFrom","#
                + #""peersSendingToUs","trackerStats"],"ids":["# + "\(id)]}}"
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
                    && (torrents.first?["peersSendingToUs"] as? Int) == 1
            }
            scenario.expect(seen, "the seed is listed with a download rate while btq downloads: \(last)")
            // The seed speaks TCP only (its UDP port is closed): the transport is said, with no `T` flag.
            let listed = (Self.torrent(last)["peers"] as? [[String: Any]])?.first ?? [:]
            scenario.expect(
                listed["isUTP"] as? Bool == false && (listed["flagStr"] as? String)?.contains("T") == false,
                "the seed is listed as a TCP peer: \(listed)")
            // The one peer is counted once, from the tracker (or as one that dialled btq), not made up.
            let from = Self.torrent(last)["peersFrom"] as? [String: Int] ?? [:]
            scenario.expect(
                (from["fromTracker"] ?? 0) + (from["fromIncoming"] ?? 0) == 1 && from.values.reduce(0, +) == 1,
                "peersFrom counts the seed once: \(from)")
            let working = Self.torrent(last)["trackerStats"] as? [[String: Any]] ?? []
            scenario.expect(
                working.count == 1 && [1, 2].contains(working.first?["announceState"] as? Int ?? -1),
                "a worked torrent's tracker waits for its next announce or is due: \(working)")
            // A real rate: the seed's limit, give or take the window's rounding (not a lifetime count).
            scenario.expect(rate <= 3 * limit, "the rate \(rate) is near the seed's limit \(limit): \(last)")
            try await daemon.process.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }

            // Stopped, as in Transmission: no peers listed or counted, the tracker inactive with no next
            // announce, and what it last said kept.
            try await daemon.remote(["-t", "\(id)", "-S"])
            var stopped: [String: Any] = [:]
            let settled = try await poll(timeout: E2E.startTimeout, interval: .milliseconds(300)) {
                stopped = Self.torrent(try daemon.call(request))
                return stopped["peersConnected"] as? Int == 0
                    && (stopped["trackerStats"] as? [[String: Any]])?.first?["announceState"] as? Int == 0
            }
            scenario.expect(settled, "the stopped torrent has no peers and an inactive tracker: \(stopped)")
            scenario.expect((stopped["peers"] as? [Any])?.isEmpty == true, "no peers listed: \(stopped)")
            scenario.expect(
                (stopped["peersFrom"] as? [String: Int])?.values.allSatisfy { $0 == 0 } == true,
                "no peers counted: \(stopped)")
            scenario.expect(stopped["peersSendingToUs"] as? Int == 0, "none sending: \(stopped)")
            let tracker = (stopped["trackerStats"] as? [[String: Any]])?.first ?? [:]
            scenario.expect(tracker["nextAnnounceTime"] as? Int == 0, "no next announce: \(tracker)")
            scenario.expect(
                tracker["hasAnnounced"] as? Bool == true && tracker["lastAnnounceSucceeded"] as? Bool == true
                    && (tracker["lastAnnounceTime"] as? Int ?? 0) > 0,
                "the last announce is kept: \(tracker)")
        }
    }

    /// The one torrent of a `torrent-get` answer.
    static func torrent(_ answer: [String: Any]) -> [String: Any] {
        ((answer["arguments"] as? [String: Any])?["torrents"] as? [[String: Any]])?.first ?? [:]
    }
}
