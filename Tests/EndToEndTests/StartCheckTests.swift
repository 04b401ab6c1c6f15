import Engine
import Foundation
import Store
import Testing

/// The check at start, through the daemon: a seed whose files were damaged or deleted behind btq's back
/// rechecks only the damaged file, goes back to downloading what is missing, and seeds again; for v1,
/// v2-only (merkle checks, nothing rehashed but the damaged file) and hybrid torrents.
@Suite("btq run checks files at start", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct StartCheckTests {
    @Test(arguments: [[], ["--v2"], ["--hybrid"]])
    func damagedAndDeletedFilesOfASeed(_ create: [String]) async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content, create: create)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            try await btq.run(["add", torrent.url.path, "--dir", out.path])
            func startDaemon() throws -> ChildProcess {
                try scenario.start(
                    "btq run", Btq.executable,
                    ["run", "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1"],
                    environment: ["BTQ_DB": btq.database.path])
            }
            var daemon = try startDaemon()
            try await daemon.waitUntil("the download completes and seeds", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).state == .seeding
            }
            kill(daemon.pid, SIGTERM)
            _ = await daemon.waitForExit(timeout: .seconds(5))

            // Behind btq's back: one byte of the large file changes, a small file disappears.
            let large = "tree/big/large.bin"
            let small = "tree/many/f20.txt"
            let handle = try FileHandle(forUpdating: out.appendingPathComponent(large))
            try handle.seek(toOffset: 2_000_000)
            let byte = try handle.read(upToCount: 1)?.first ?? 0
            try handle.seek(toOffset: 2_000_000)
            try handle.write(contentsOf: [byte ^ 0x01])
            try handle.close()
            try FileManager.default.removeItem(at: out.appendingPathComponent(small))
            let id = try btq.record(of: torrent).id
            let before = try btq.store().queries.events(torrentId: id).count

            daemon = try startDaemon()
            // It starts as a seed, finds the damage, downloads, and seeds again.
            try await daemon.waitUntil("the torrent is whole again and seeds", timeout: E2E.downloadTimeout) {
                let record = try btq.record(of: torrent)
                let since = try btq.store().queries.events(torrentId: id).dropFirst(before)
                return record.state == .seeding && record.bytesDone == record.totalSize
                    && since.contains { $0.detail?.contains("downloading -> seeding") == true }
            }
            let events = try btq.store().queries.events(torrentId: id).dropFirst(before)
            let changed = events.filter { $0.kind == "file-changed" }.compactMap(\.detail)
            let missing = events.filter { $0.kind == "data-missing" }.compactMap(\.detail)
            scenario.expect(
                changed.count == 1 && changed[0].contains("large.bin") && !changed[0].contains("f20.txt"),
                "only the damaged file is rechecked: \(changed)")
            scenario.expect(missing.count == 1 && missing[0].contains("f20.txt"), "the deleted file: \(missing)")
            let largePieces = torrent.pieces(ofFile: try torrent.fileIndex(of: large))
            let checks = events.filter { $0.kind == "checked" }.compactMap(\.detail)
            scenario.expect(
                checks.first?.contains("rechecked \(largePieces.count) piece(s), \(largePieces.count - 1) valid")
                    == true,
                "the start rechecked the large file's \(largePieces.count) pieces and found one bad: \(checks)")
            scenario.expect(
                events.contains { $0.kind == "state" && $0.detail?.contains("seeding -> downloading") == true },
                "the seed went back to downloading: \(events.map { "\($0.kind): \($0.detail ?? "")" })")
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the data is whole again: \(report)")
            kill(daemon.pid, SIGTERM)
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }
}
