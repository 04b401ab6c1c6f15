import Engine
import Foundation
import Store
import Testing

/// A full disk stops only the torrent that hit it: it goes to the error state with the reason and
/// keeps its progress, the others go on, and `btq resume` completes it once there is room.
///
/// The full disk is a small tmpfs mounted in the test's own mount namespace (scripts/test runs the
/// suite in one), so it needs root there.
@Suite("a full disk", .enabled(if: E2E.isEnabled && getuid() == 0), .timeLimit(.minutes(15)))
struct DiskFullTests {
    @Test func theTorrentThatHitsItWaitsInErrorAndResumes() async {
        await Scenario.run { scenario in
            let big = try TestContent.singleFile(name: "big.bin", size: 24 << 20, seed: 70, in: scenario.path("d1"))
            let small = try TestContent.singleFile(name: "small.bin", size: 4 << 20, seed: 71, in: scenario.path("d2"))
            let tracker = try OpenTracker(scenario)
            let btq = try Btq(scenario)
            let bigTorrent = try await btq.create(big, trackers: [tracker.httpAnnounce])
            let smallTorrent = try await btq.create(small, trackers: [tracker.httpAnnounce])
            try await tracker.start(whitelisting: [bigTorrent, smallTorrent])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [bigTorrent], data: big.root, uploadRate: 8_000_000)
            _ = try await LibtorrentSeeder.start(
                in: scenario, name: "small seeder", torrents: [smallTorrent], data: small.root, uploadRate: 1_000_000)

            // 10 MiB of room for a 24 MiB download.
            let full = try scenario.folder("full")
            let mounted = try await scenario.runTool(
                "mount tmpfs", "/bin/mount", ["-t", "tmpfs", "-o", "size=10m", "tmpfs", full.path])
            try scenario.require(mounted.status == 0, "mount a 10 MiB tmpfs: \(mounted.output)")
            defer { _ = umount2(full.path, Int32(MNT_DETACH)) }
            let elsewhere = try scenario.folder("elsewhere")
            try await btq.run(["add", bigTorrent.url.path, "--dir", full.path])
            try await btq.run(["add", smallTorrent.url.path, "--dir", elsewhere.path])
            // This test is about downloading: a finished torrent is completed, not seeding.
            try await btq.run(["config", "set", "max_active_seeds", "0"])

            let daemon = try scenario.start(
                "btq run", Btq.executable, ["run", "--port", "\(try FreePort.next())", "--max-active", "2"],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the big torrent fails on the full disk", timeout: E2E.downloadTimeout) {
                try btq.record(of: bigTorrent).state == .error
            }
            let failed = try btq.record(of: bigTorrent)
            scenario.expect(
                failed.lastError?.contains("No space left on device") == true,
                "the error says why: \(failed.lastError ?? "none")")
            scenario.expect(failed.piecesDone > 0, "its progress is kept (\(failed.piecesDone) pieces)")
            try await daemon.waitUntil("the other torrent completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: smallTorrent).state == .completed
            }
            scenario.expect(
                TestContent.verify(downloaded: elsewhere, against: small).isOK, "the other torrent's data is intact")
            let listed = try await btq.run(["list"])
            scenario.expect(listed.contains("error"), "btq list shows the error state:\n\(listed)")

            // Room is made; btq resume retries it on the running daemon.
            let grown = try await scenario.runTool(
                "grow tmpfs", "/bin/mount", ["-o", "remount,size=64m", full.path])
            try scenario.require(grown.status == 0, "remount the tmpfs larger: \(grown.output)")
            try await btq.run(["resume", "\(failed.id)"])
            try await daemon.waitUntil("the big torrent completes after resume", timeout: E2E.downloadTimeout) {
                try btq.record(of: bigTorrent).state == .completed
            }
            scenario.expect(TestContent.verify(downloaded: full, against: big).isOK, "the big torrent's data is intact")
            let uploaded = try await seeder.status(after: Date()).uploaded
            print("disk full test: \(uploaded) bytes fetched in all for the 24 MiB torrent")
            scenario.expect(
                Double(uploaded) <= Double(24 << 20) * 1.1,
                "resuming kept what was done before the disk filled (\(uploaded) bytes fetched for 24 MiB)")
            let kinds = try btq.store().queries.events(torrentId: failed.id).map(\.kind)
            scenario.expect(kinds.contains("error") && kinds.contains("resumed"), "history: \(kinds)")
            kill(daemon.pid, SIGTERM)
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }
}
