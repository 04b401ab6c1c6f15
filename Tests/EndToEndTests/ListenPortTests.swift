import Engine
import Foundation
import Testing

/// btq listens for peers on a free port when the one it is told to use is taken, and announces the port
/// it bound, never one that another program holds (issue 10, point 5).
@Suite("btq announces the port it listens on", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct ListenPortTests {
    /// Another BitTorrent client (the libtorrent seeder) already listens on the port `btq get` is told to
    /// use. btq listens on another port and announces that one: had it announced the seeder's port, the
    /// tracker would take both for one peer and btq would drop the seeder's address as its own.
    @Test func getWithItsPortTakenByTheSeederStillDownloads() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "file.bin", size: 16 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            let seeder = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            let child = try scenario.start(
                "btq get", Btq.executable,
                [
                    "get", torrent.url.path, "--dir", out.path, "--port", "\(seeder.port)", "--bind-address",
                    "127.0.0.1", "--quiet",
                ],
                environment: ["BTQ_DB": btq.database.path])
            let status = await child.waitForExit(timeout: .seconds(120))
            if status == nil { await child.stop() }
            try scenario.require(status == 0, "btq get should finish with the seeder's port taken\n\(child.logTail())")
            let bound = Self.listeningPort(of: child)
            scenario.expect(
                bound != nil && bound != seeder.port
                    && bound.map { $0 > seeder.port && $0 <= seeder.port + 10 } == true,
                "btq get prints the next free port it listens on (the seeder has \(seeder.port)): \(child.logTail())")
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download with its port taken: \(report)")
        }
    }

    /// A socket of the test holds the port `btq run` is told to use: btq binds one of the next ports,
    /// prints it, and opentracker hands out that port (not the held one); a libtorrent leecher that knows
    /// btq only from the tracker downloads the torrent from it.
    @Test func runWithItsPortHeldAnnouncesTheOneItBound() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [tracker.httpAnnounce])
            try await tracker.start(whitelisting: [torrent])
            let held = try HeldPort()
            try await btq.run(["add", torrent.url.path, "--dir", content.root.path])
            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(held.port)", "--bind-address", "127.0.0.1"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("btq run prints the port it listens on", timeout: E2E.startTimeout) {
                Self.listeningPort(of: daemon) != nil
            }
            guard let bound = Self.listeningPort(of: daemon) else { throw HarnessError("no listening line") }
            scenario.expect(
                bound > held.port && bound <= held.port + 10,
                "btq run listens on one of the 10 ports after the held \(held.port): \(bound)")
            let expected = PeerAddress(host: .ipv4(127, 0, 0, 1), port: bound)
            try await daemon.waitUntil("opentracker knows btq at \(expected)", timeout: E2E.startTimeout) {
                try tracker.peers(of: torrent).contains(expected)
            }
            let peers = try tracker.peers(of: torrent)
            scenario.expect(
                !peers.contains { $0.port == held.port }, "nobody announced the held port \(held.port): \(peers)")
            let out = try scenario.folder("leecher")
            let leecher = try LibtorrentLeecher.start(in: scenario, torrent: torrent, into: out)
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download from btq found through the tracker: \(report)")
            withExtendedLifetime(held) {}
        }
    }

    /// The port in the `btq: listening on 127.0.0.1:PORT` line of a btq process's output.
    static func listeningPort(of child: ChildProcess) -> UInt16? {
        let text = String(decoding: (try? Data(contentsOf: child.logURL)) ?? Data(), as: UTF8.self)
        guard let range = text.range(of: #"listening on 127\.0\.0\.1:\d+"#, options: .regularExpression) else {
            return nil
        }
        return text[range].split(separator: ":").last.flatMap { UInt16($0) }
    }
}
