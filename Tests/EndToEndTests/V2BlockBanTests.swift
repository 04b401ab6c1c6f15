import Engine
import Foundation
import Store
import Testing

/// A v2 peer that sends one bad block is the one banned (BEP 52, issue 15): next to an honest
/// libtorrent seed of the multi-file tree, a slow peer (`corrupt_peer.py`) sends right blocks, then
/// one bad block starting a piece, and chokes btq for good, so that the rest of that piece comes from
/// libtorrent. The piece fails its merkle check with two senders; btq asks for its block hashes
/// (libtorrent, holding only piece layers, refuses; the bad peer answers with the true leaves), bans
/// the sender of the bad block and nobody else, and fetches that block again. btq's memory is
/// measured, and the download's time printed with and without the bad peer.
@Suite("v2 per-block bans against libtorrent", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct V2BlockBanTests {
    @Test(arguments: [(V2DownloadTests.Kind.v2, true), (.v2, false), (.hybrid, true)])
    func oneBadBlockBansOnlyItsSender(_ kind: V2DownloadTests.Kind, withBadPeer: Bool) async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content, create: [kind.flag])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 2_000_000)
            let bad =
                withBadPeer
                ? try await CorruptingPeer.start(
                    in: scenario, torrent: torrent, data: content.root, hashes: .honest, corruptOnceAfter: 40,
                    blockDelay: 0.02) : nil
            let out = try scenario.folder("download")
            // The bad peer speaks plaintext only.
            try await btq.run(["config", "set", "encryption", "disable"])
            try await btq.run(["add", torrent.url.path, "--dir", out.path])
            let started = ContinuousClock.now
            let daemon = try scenario.start(
                "btq run", Btq.executable,
                ["run", "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1"]
                    + (bad.map { ["--peer", $0.address] } ?? []),
                environment: ["BTQ_DB": btq.database.path, "BTQ_LOG": "info"])
            try await daemon.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }
            let elapsed = ContinuousClock.now - started
            let memory = try ProcessMemory(pid: daemon.pid)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of the \(kind) tree: \(report)")
            scenario.expect(
                memory.peak < AttackWatch.residentBound,
                "btq went over \(ProcessMemory.mebibytes(AttackWatch.residentBound)): \(memory)")
            let id = try btq.record(of: torrent).id
            var settledBy = "no bad peer"
            if let bad {
                try await daemon.waitUntil("the bad peer's ban is recorded", timeout: .seconds(30)) {
                    try btq.store().queries.peers(torrentId: id).contains { $0.port == Int(bad.port) && $0.isBanned }
                }
                let stats = try bad.stats()
                scenario.expect(stats.corruptBlocks == 1, "the bad peer sent one bad block: \(stats)")
                let log = try String(contentsOf: daemon.logURL, encoding: .utf8)
                scenario.expect(
                    log.contains("failed their merkle hashes"), "btq settled the piece by its block hashes")
                settledBy = "block hashes (\(stats.hashRequests) request(s) to the bad peer)"
                let shown = try await btq.run(["peers", "\(id)", "--json"])
                scenario.expect(shown.contains("\(bad.port)"), "btq peers --json lists the bad peer:\n\(shown)")
            }
            let peers = try btq.store().queries.peers(torrentId: id)
            scenario.expect(
                peers.first { $0.port == Int(seeder.port) }?.isBanned == false,
                "libtorrent is known and not banned: \(peers)")
            scenario.expect(
                peers.filter(\.isBanned).map(\.port) == (bad.map { [Int($0.port)] } ?? []),
                "only the bad peer is banned: \(peers)")
            print(
                "[e2e] \(kind) tree, \(withBadPeer ? "with" : "without") a peer sending one bad block: "
                    + "\(elapsed) to complete, settled by \(settledBy); btq \(memory)")
            kill(daemon.pid, SIGINT)
            _ = await daemon.waitForExit(timeout: .seconds(10))
        }
    }
}
