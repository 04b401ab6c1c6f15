import Engine
import Foundation
import Store
import TestSupport
import Testing

/// `btq get --sequential` against a libtorrent seeder, seen from the seeder: the order in which it sent
/// the blocks (libtorrent answers a peer's requests in the order they came, and btq is its only peer)
/// is the order btq requested them in.
@Suite("Download order against a real seeder", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(10)))
struct DownloadOrderTests {
    /// The pieces of the seeder's upload log, each at its first block sent.
    static func piecesInUploadOrder(_ log: URL) -> [Int] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        var seen = Set<Int>()
        var order: [Int] = []
        for line in text.split(separator: "\n") {
            guard let piece = line.split(separator: " ").first.flatMap({ Int($0) }) else { continue }
            if seen.insert(piece).inserted { order.append(piece) }
        }
        return order
    }

    /// Downloads 8 MiB of 32 pieces from a libtorrent seeder it dials (no tracker: one connection) with
    /// `extra` options; returns the pieces in the order the seeder sent them.
    static func download(in scenario: Scenario, extra: [String]) async throws -> (order: [Int], btq: Btq, Int) {
        let content = try TestContent.singleFile(name: "movie.bin", size: 8 << 20, in: scenario.path("data"))
        let btq = try Btq(scenario)
        let torrent = try await btq.create(content, trackers: [])
        let pieces = torrent.metainfo.pieceCount
        try scenario.require(pieces == 32, "the torrent has \(pieces) pieces, not 32")
        let log = scenario.path("uploads.log")
        let seeder = try await LibtorrentSeeder.start(
            in: scenario, torrents: [torrent], data: content.root, uploadLog: log)
        let out = try scenario.folder("download")
        try await btq.get([torrent.url.path], into: out, peers: [seeder.address], extra: extra)
        let report = TestContent.verify(downloaded: out, against: content)
        scenario.expect(report.isOK, "btq's download: \(report)")
        // The seeder logs what it sent at its next look at its alerts (every 100 ms at most).
        try await poll(timeout: .seconds(10)) { piecesInUploadOrder(log).count == pieces }
        return (piecesInUploadOrder(log), btq, pieces)
    }

    @Test func sequentialRequestsPiecesInOrder() async {
        await Scenario.run { scenario in
            let (order, btq, pieces) = try await Self.download(in: scenario, extra: ["--sequential"])
            scenario.expect(order == Array(0..<pieces), "pieces in the order the seeder sent them: \(order)")
            let info = try await btq.run(["info", "1", "--json"])
            let fields = try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any]
            scenario.expect(fields?["download_order"] as? String == "sequential", "btq info --json: \(info)")
        }
    }

    /// The same observation tells rarest first (random among equally rare pieces) from sequential.
    @Test func rarestFirstDoesNotRequestInOrder() async {
        await Scenario.run { scenario in
            let (order, _, pieces) = try await Self.download(in: scenario, extra: [])
            scenario.expect(order.count == pieces, "every piece sent once at least: \(order)")
            scenario.expect(order != Array(0..<pieces), "rarest first sent the pieces in order: \(order)")
        }
    }

    /// `btq files --high` on one of two files of 16 pieces each: every piece of that file is sent
    /// before any piece of the other (rarest first within each).
    @Test func highPriorityFilePiecesComeFirst() async {
        await Scenario.run { scenario in
            let content = try TestContent.folder(
                name: "pair", files: [("a.bin", 4 << 20), ("b.bin", 4 << 20)], in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let files = torrent.metainfo.files
            let high = try #require(files.indices.first { files[$0].relativePath.hasSuffix("b.bin") })
            let pieceLength = Int64(torrent.metainfo.pieceLength)
            let highPieces = Set(
                Int(
                    files.offset(at: high) / pieceLength)..<Int(
                        (files.offset(at: high) + files.length(at: high)) / pieceLength))
            try scenario.require(highPieces.count == 16, "b.bin spans pieces \(highPieces.sorted())")
            let log = scenario.path("uploads.log")
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadLog: log)
            let out = try scenario.folder("download")
            _ = try await btq.run(["add", torrent.url.path, "--dir", out.path])
            let changed = try await btq.run(["files", "1", "--high", "\(high)"])
            scenario.expect(changed.contains("high"), "btq files --high: \(changed)")
            try await btq.get(["1"], into: out, peers: [seeder.address])
            scenario.expect(TestContent.verify(downloaded: out, against: content).isOK, "btq's download")
            try await poll(timeout: .seconds(10)) { Self.piecesInUploadOrder(log).count == 32 }
            let order = Self.piecesInUploadOrder(log)
            scenario.expect(order.count == 32, "every piece sent: \(order)")
            scenario.expect(
                Set(order.prefix(16)) == highPieces, "the high file's pieces \(highPieces.sorted()) first: \(order)")
        }
    }

    /// `btq order` while `btq run` downloads (at 512 KiB/s, 64 pieces: 32 s): the daemon tells the session at its
    /// next pass, and from a few pieces on (those sent within that pass and those already requested)
    /// the seeder sends the rest in order. The pieces sent before are counted once `btq order` returned
    /// (starting a process takes a while on a loaded machine).
    @Test func aRunningDaemonFollowsBtqOrder() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "live.bin", size: 16 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            try scenario.require(torrent.metainfo.pieceCount == 64, "64 pieces")
            let log = scenario.path("uploads.log")
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 512 << 10, uploadLog: log)
            let out = try scenario.folder("download")
            _ = try await btq.run(["add", torrent.url.path, "--dir", out.path])
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable,
                ["run", "--port", "\(port)", "--bind-address", "127.0.0.1", "--peer", seeder.address],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the seeder has sent 4 pieces", timeout: E2E.downloadTimeout) {
                Self.piecesInUploadOrder(log).count >= 4
            }
            _ = try await btq.run(["order", "1", "sequential"])
            let before = Self.piecesInUploadOrder(log).count
            try await daemon.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            scenario.expect(TestContent.verify(downloaded: out, against: content).isOK, "btq run's download")
            try await poll(timeout: .seconds(10)) { Self.piecesInUploadOrder(log).count == 64 }
            let order = Self.piecesInUploadOrder(log)
            // At 512 KiB/s a second is 2 pieces: 12 cover the daemon's pass and the requests already out.
            let after = Array(order.dropFirst(before + 12))
            // 8 pieces in ascending order by chance is 1 in 40,320 (they are not, without the change).
            scenario.expect(after.count >= 8, "pieces left after the change: \(after.count) of \(order)")
            scenario.expect(after == after.sorted(), "in order \(before + 12) pieces after the change: \(order)")
            kill(daemon.pid, SIGINT)
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }

    /// A torrent that seeds with one of its two files skipped: `btq files --want` on that file while
    /// `btq run` seeds makes it a download again (its state `downloading`, in a download slot) until the
    /// file is there, then a seed again with both files.
    @Test func wantingASkippedFileOfASeedDownloadsItAgain() async {
        await Scenario.run { scenario in
            let content = try TestContent.folder(
                name: "pair", files: [("a.bin", 2 << 20), ("b.bin", 4 << 20)], in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let files = torrent.metainfo.files
            let later = try #require(files.indices.first { files[$0].relativePath.hasSuffix("b.bin") })
            // At 1 MiB/s the skipped file takes 4 s: the daemon's 0.5 s passes see it downloading.
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1 << 20)
            let out = try scenario.folder("download")
            _ = try await btq.run(["add", torrent.url.path, "--dir", out.path])
            _ = try await btq.run(["files", "1", "--skip", "\(later)"])
            let port = try FreePort.next()
            let daemon = try scenario.start(
                "btq run", Btq.executable,
                ["run", "--port", "\(port)", "--bind-address", "127.0.0.1", "--peer", seeder.address],
                environment: ["BTQ_DB": btq.database.path])
            try await daemon.waitUntil("the wanted file is there and it seeds", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            scenario.expect(
                !TestContent.verify(downloaded: out, against: content).isOK, "the skipped file is not all there")
            _ = try await btq.run(["files", "1", "--want", "\(later)"])
            try await daemon.waitUntil("it downloads again", timeout: .seconds(30)) {
                try btq.record(of: torrent).state == .downloading
            }
            try await daemon.waitUntil("both files are there and it seeds again", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            scenario.expect(TestContent.verify(downloaded: out, against: content).isOK, "both files after --want")
            let history = try await btq.run(["history", "1"])
            scenario.expect(history.contains("downloading"), "btq history: \(history)")
            let list = try await btq.run(["list"])
            scenario.expect(list.contains("seeding") && list.contains("100"), "btq list: \(list)")
            kill(daemon.pid, SIGINT)
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }
}
