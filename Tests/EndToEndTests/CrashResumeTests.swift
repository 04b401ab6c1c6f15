import Engine
import Foundation
import Store
import TestSupport
import Testing

/// The product's promise: a download killed with SIGKILL at any moment resumes exactly, without
/// fetching or rehashing what was already done.
@Suite("btq survives kill -9", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct CrashResumeTests {
    @Test func tenKillsAtRandomMoments() async {
        await Scenario.run { scenario in
            let size = 40 << 20
            let content = try TestContent.singleFile(
                name: "torture.bin", size: size, seed: 41, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            // 1.2 MB/s: the download takes about 35 s, longer than ten runs killed at most 3 s after they
            // start, so it completes only after the tenth kill.
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1_200_000)
            let out = try scenario.folder("download")
            try await btq.run(["add", torrent.url.path, "--dir", out.path])
            // This test is about downloading: a finished torrent is completed, not seeding.
            try await btq.run(["config", "set", "max_active_seeds", "0"])

            let seed = UInt64(Date().timeIntervalSince1970)
            var random = SplitMix64(seed: seed)
            print("crash test: kill moments drawn with seed \(seed)")
            var kills = 0
            var complete = false
            while !complete {
                let port = try FreePort.next()
                let daemon = try scenario.start(
                    "btq run", Btq.executable, ["run", "--port", "\(port)"], environment: ["BTQ_DB": btq.database.path])
                if kills == 10 {
                    try await daemon.waitUntil("the download completes after ten kills", timeout: E2E.downloadTimeout) {
                        try btq.record(of: torrent).state == .completed
                    }
                    kill(daemon.pid, SIGTERM)
                    _ = await daemon.waitForExit(timeout: .seconds(5))
                    break
                }
                // A moment between 1 and 3 s into this run (the first second is start-up and connecting).
                let moment = Duration.milliseconds(1_000 + Int(random.next() % 2_000))
                let deadline = ContinuousClock.now + moment
                try await poll(timeout: moment + .seconds(1), interval: .milliseconds(100)) {
                    ContinuousClock.now >= deadline || (try? btq.record(of: torrent).state == .completed) == true
                }
                if try btq.record(of: torrent).state == .completed {
                    complete = true
                    kill(daemon.pid, SIGTERM)
                    _ = await daemon.waitForExit(timeout: .seconds(5))
                    break
                }
                kill(daemon.pid, SIGKILL)
                _ = await daemon.waitForExit(timeout: .seconds(5))
                kills += 1
            }
            scenario.expect(kills == 10, "the download was killed ten times before it completed (\(kills))")

            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the data is byte-identical after the kills: \(report)")
            let integrity = try await scenario.runTool(
                "sqlite3 integrity_check", "/usr/bin/sqlite3", [btq.database.path, "PRAGMA integrity_check;"])
            scenario.expect(
                integrity.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok",
                "PRAGMA integrity_check says ok: \(integrity.output)")
            let uploaded = try await seeder.status(after: Date()).uploaded
            print(
                "crash test: the seeder sent \(uploaded) payload bytes for a \(size)-byte torrent over \(kills + 1) runs"
            )
            scenario.expect(
                Double(uploaded) <= Double(size) * 1.1,
                "all runs together fetched at most the torrent's size plus 10% (\(uploaded) of \(size))")

            // Resuming after a kill read no finished piece back: each start's check says so.
            let checks = try btq.store().queries.events(torrentId: btq.record(of: torrent).id).filter {
                $0.kind == "checked"
            }
            for check in checks { print("crash test: start check: \(check.detail ?? "")") }
            let read = checks.compactMap { Self.bytesRead(in: $0.detail ?? "") }
            scenario.expect(
                read.count == checks.count && checks.count >= 10, "every start reported its check: \(checks)")
            // A piece all of whose blocks were written but whose hash had not finished when the kill came is
            // hashed from the files at the next start: that is all a start may read, never a verified piece.
            // A kill before the run's first journal save leaves nothing recorded: the next start checks the
            // pieces holding data, which is what that run wrote before the kill (at 1.2 MB/s for at most
            // 3 s), never the whole file it created.
            let readBeyondKeptBlocks = checks.dropFirst().filter { check in
                let detail = check.detail ?? ""
                let allowed =
                    detail.contains("nothing was recorded") ? size / 10 : Self.keptBlocks(in: detail) * 16_384
                return (Self.bytesRead(in: detail) ?? 0) > allowed
            }
            scenario.expect(
                readBeyondKeptBlocks.isEmpty,
                "a start after a kill read back more than its kept blocks of unfinished pieces: "
                    + "\(readBeyondKeptBlocks.map { $0.detail ?? "" })")
        }
    }

    /// "N blocks of unfinished pieces kept" in a `checked` event; 0 when it says none.
    static func keptBlocks(in detail: String) -> Int {
        guard let range = detail.range(of: #"\d+ blocks of unfinished pieces kept"#, options: .regularExpression)
        else { return 0 }
        return Int(detail[range].prefix { $0.isNumber }) ?? 0
    }

    /// "(N bytes read)" in a `checked` event.
    static func bytesRead(in detail: String) -> Int? {
        guard let range = detail.range(of: #"\(\d+ bytes read\)"#, options: .regularExpression) else { return nil }
        return Int(detail[range].dropFirst().prefix { $0.isNumber })
    }
}
