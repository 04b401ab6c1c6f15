import Foundation
import Testing

/// Rate and seeding settings (`btq config`) and a torrent's own limits (`btq limit`).
@Suite(.timeLimit(.minutes(5))) struct LimitCommandTests {
    @Test func transferSettingsTakeRatesRatiosAndSpans() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        for (key, value, stored) in [
            ("download_rate_limit", "2M", "2097152"), ("upload_rate_limit", "512K", "524288"),
            ("upload_rate_limit", "1.5MiB/s", "1572864"), ("download_rate_limit", "0", "0"),
            ("seed_ratio_limit", "1.5", "1.5"), ("seed_ratio_limit", "2", "2"), ("seed_time_limit", "12h", "43200"),
            ("seed_time_limit", "90", "90"), ("listen_port", "51413", "51413"),
            ("bind_address", "127.0.0.1", "127.0.0.1"),
        ] {
            let set = try btq.run(["config", "set", key, value])
            #expect(set.status == 0, "\(key) \(value): \(set.stderr)")
            #expect(try btq.run(["config", "get", key]).stdout == stored + "\n", "\(key) \(value)")
        }
        for (key, value) in [
            ("download_rate_limit", "fast"), ("upload_rate_limit", "1X"), ("seed_ratio_limit", "2:1"),
            ("seed_time_limit", "soon"), ("listen_port", "0"), ("listen_port", "70000"), ("bind_address", "localhost"),
        ] {
            let result = try btq.run(["config", "set", key, value])
            #expect(result.status == 64, "\(key) \(value) should be refused")
            #expect(result.stderr.contains(key), "the error names the setting: \(result.stderr)")
        }
    }

    @Test func perTorrentLimitsAreStoredAndShown() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try QueueCommandTests.makeTorrent(btq)
        #expect(try btq.run(["add", torrent, "--dir", btq.folder.appendingPathComponent("dl").path]).status == 0)
        let shown = try btq.run(["limit", "1"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout == "#1 content: download unlimited, upload unlimited\n")
        let set = try btq.run(["limit", "1", "--down", "2M", "--up", "1M"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout == "#1 content: download 2.00 MiB/s, upload 1.00 MiB/s\n")
        #expect(
            try btq.run(["limit", "1", "--up", "none"]).stdout == "#1 content: download 2.00 MiB/s, upload unlimited\n")
        let info = try btq.run(["info", "1"]).stdout
        #expect(info.contains("Rate limits:") && info.contains("download 2.00 MiB/s, upload unlimited"), "\(info)")
        let history = try btq.run(["history", "1"]).stdout
        #expect(history.contains("limits"), "a limits event: \(history)")
        let bad = try btq.run(["limit", "1", "--down", "quick"])
        #expect(bad.status == 64)
        #expect(try btq.run(["limit", "1"]).stdout == "#1 content: download 2.00 MiB/s, upload unlimited\n")
        #expect(try btq.run(["limit", "9"]).status == 1)
    }
}
