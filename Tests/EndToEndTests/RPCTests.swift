import Engine
import Foundation
import Store
import TestSupport
import Testing

/// The Transmission RPC of `btq run --rpc`, driven by the distribution's `transmission-remote` (Transmission
/// 3.00) against a libtorrent seeder, each result checked in btq's own database (what `btq list --json`
/// reads) and on disk; and the requests it must refuse, each refused with the right status and nothing
/// changed.
@Suite("the Transmission RPC", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(15)))
struct RPCTests {
    /// The list id of `torrent` in btq's database.
    static func id(_ btq: Btq, _ torrent: TestTorrent) throws -> Int64 { try btq.record(of: torrent).id }

    @Test func transmissionRemoteDrivesTheQueue() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            let daemon = try await RPCDaemon.start(btq)

            let metricsBefore = try await daemon.metrics()
            scenario.expect(
                metricsBefore["btq_downloaded_bytes_total"] == 0, "nothing downloaded yet: \(metricsBefore)")

            // -a FILE: added as `btq add` adds it (listed by `btq list --json`), into download-dir.
            try await daemon.remote(["-a", torrent.url.path, "-w", out.path])
            let list = try await btq.run(["list", "--json"])
            scenario.expect(list.contains(torrent.infoHash), "btq list --json shows the added torrent:\n\(list)")
            let id = try Self.id(btq, torrent)
            try await daemon.process.waitUntil("the download completes", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).completedAt != nil
            }
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download: \(report)")

            // The metrics moved: the bytes, the pieces, the torrent's state.
            let metrics = try await daemon.metrics()
            let size = Double(torrent.metainfo.totalLength)
            scenario.expect((metrics["btq_downloaded_bytes_total"] ?? 0) >= size, "bytes downloaded: \(metrics)")
            scenario.expect(
                metrics["btq_pieces_verified_total"] == Double(torrent.metainfo.pieceCount),
                "pieces verified: \(metrics)")
            let seeding =
                (metrics["btq_torrents{state=\"seeding\"}"] ?? 0) + (metrics["btq_torrents{state=\"completed\"}"] ?? 0)
            scenario.expect(seeding == 1, "one torrent seeding or completed: \(metrics)")
            // The journal committed the download's progress, and each commit is in the histogram.
            let commits = metrics["btq_journal_commit_seconds_count"] ?? 0
            scenario.expect(commits >= 1, "journal commits measured: \(metrics)")
            scenario.expect(
                metrics["btq_journal_commit_seconds_bucket{le=\"+Inf\"}"] == commits,
                "every commit in a bucket: \(metrics)")

            // -l: the torrent, done.
            let listing = try await daemon.remote(["-l"])
            scenario.expect(
                listing.contains(torrent.metainfo.name) && listing.contains("100%"), "-l lists it done:\n\(listing)")

            // -t N -S / -s: paused, then back to the queue.
            try await daemon.remote(["-t", "\(id)", "-S"])
            scenario.expect(try btq.record(of: torrent).state == .paused, "-S pauses it")
            // A stopping session's last checkpoint (synced, then recorded) is measured.
            var afterStop: [String: Double] = [:]
            let checkpointed = try await poll(timeout: E2E.startTimeout, interval: .milliseconds(500)) {
                afterStop = try await daemon.metrics()
                return (afterStop["btq_checkpoint_seconds_count"] ?? 0) >= 1
            }
            scenario.expect(checkpointed, "a checkpoint is measured: \(afterStop)")
            let stopped = try await daemon.remote(["-l"])
            scenario.expect(stopped.contains("Stopped"), "-l shows it stopped:\n\(stopped)")
            try await daemon.remote(["-t", "\(id)", "-s"])
            scenario.expect(try btq.record(of: torrent).state != .paused, "-s resumes it")

            // -t N -v: the daemon rechecks it, and finds it whole.
            let since = Date()
            try await daemon.remote(["-t", "\(id)", "-v"])
            try await daemon.process.waitUntil("the recheck is recorded", timeout: E2E.startTimeout) {
                try btq.store().queries.events(torrentId: id, since: since).contains {
                    $0.kind == EventKind.checked.rawValue && $0.detail?.hasPrefix(TorrentChecker.eventPrefix) == true
                } && btq.record(of: torrent).state != .checking
            }
            scenario.expect(try btq.record(of: torrent).bytesDone == torrent.metainfo.totalLength, "still whole")

            // -t N -f: its files; -G 0: the first one skipped.
            let files = try await daemon.remote(["-t", "\(id)", "-f"])
            let names = try btq.store().queries.files(torrentId: id).filter { !$0.isPad }.map(\.path)
            for name in names {
                let last = String(name.split(separator: "/").last ?? "")
                scenario.expect(files.contains(last), "-f lists \(last):\n\(files)")
            }
            try await daemon.remote(["-t", "\(id)", "-G", "0"])
            scenario.expect(try btq.store().queries.files(torrentId: id)[0].priority == 0, "-G 0 skips file 0")

            // -a MAGNET: a magnet link, queued without its metadata.
            let other = try TestContent.singleFile(
                name: "other.bin", size: 100_000, seed: 9, in: scenario.path("other"))
            let otherTorrent = try await btq.create(other, trackers: [])
            let magnet = MagnetLink.make(from: otherTorrent.metainfo).uri
            try await daemon.remote(["-a", magnet, "-w", out.path])
            let magnetRecord = try btq.record(of: otherTorrent)
            scenario.expect(magnetRecord.isMagnet, "the magnet is queued as one: \(magnetRecord)")
            // --find: stopped, then pointed at another folder (its data is not moved).
            try await daemon.remote(["-t", "\(magnetRecord.id)", "-S"])
            try await daemon.process.waitUntil("the magnet's fetch stops", timeout: E2E.startTimeout) {
                try btq.record(of: otherTorrent).state == .paused
            }
            let elsewhere = try scenario.folder("elsewhere")
            // Refused while the daemon still works it, taken once its fetch has stopped.
            let found = try await poll(timeout: E2E.startTimeout, interval: .milliseconds(200)) {
                _ = try await daemon.remoteResult(["-t", "\(magnetRecord.id)", "--find", elsewhere.path])
                return try btq.record(of: otherTorrent).saveDirectory == elsewhere.path
            }
            scenario.expect(found, "--find sets its folder")

            // -si and -st: the session and its counters.
            let session = try await daemon.remote(["-si"])
            scenario.expect(session.contains("RPC version: 16"), "-si:\n\(session)")
            // The encryption switches set btq's `encryption` setting.
            try await daemon.remote(["--encryption-required"])
            let required = try await btq.run(["config", "get", "encryption"])
            scenario.expect(required == "require\n", "--encryption-required sets require: \(required)")
            try await daemon.remote(["--encryption-preferred"])
            let preferred = try await btq.run(["config", "get", "encryption"])
            scenario.expect(preferred == "prefer\n", "--encryption-preferred sets prefer: \(preferred)")
            let stats = try await daemon.remote(["-st"])
            scenario.expect(stats.contains("Downloaded:") && stats.contains("Uploaded:"), "-st:\n\(stats)")

            // -r: removed, history and data kept; --remove-and-delete: the data goes too.
            try await daemon.remote(["-t", "\(id)", "-r"])
            scenario.expect(try btq.record(of: torrent).removedAt != nil, "-r removes it")
            scenario.expect(TestContent.verify(downloaded: out, against: content).isOK, "-r keeps its data")
            let history = try await btq.run(["history", "\(id)"])
            scenario.expect(history.contains("removed"), "btq history shows the removal:\n\(history)")
            try await daemon.remote(["-t", "\(magnetRecord.id)", "-r"])
            try await daemon.remote(["-a", torrent.url.path, "-w", out.path])
            let again = try Self.id(btq, torrent)
            try await daemon.process.waitUntil("the re-added torrent is checked", timeout: E2E.downloadTimeout) {
                try btq.record(of: torrent).bytesDone == torrent.metainfo.totalLength
            }
            try await daemon.remote(["-t", "\(again)", "--remove-and-delete"])
            let left = try FileManager.default.contentsOfDirectory(atPath: out.path)
            scenario.expect(left.isEmpty, "--remove-and-delete deletes the files: \(left) left")
            let after = try await btq.run(["list", "--json"])
            scenario.expect(!after.contains(torrent.infoHash), "btq list no longer shows it:\n\(after)")
        }
    }

    @Test func badRequestsAreRefusedAndChangeNothing() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(size: 300_000, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            try await btq.run(["add", torrent.url.path, "--dir", content.root.path, "--paused"])
            let daemon = try await RPCDaemon.start(btq)
            let before = try btq.record(of: torrent)
            let stop = #"{"method":"torrent-start","arguments":{"ids":[\#(before.id)]}}"#
            let session = try daemon.sessionID()

            let noSession = try daemon.request(body: stop)
            scenario.expect(noSession.status == 409 && noSession.text.contains(session), "no session id: 409 with it")
            let wrongSession = try daemon.request(session: "nope", body: stop)
            scenario.expect(wrongSession.status == 409, "a wrong session id: 409\n\(wrongSession.text)")
            let noAuth = try daemon.request(auth: false, session: session, body: stop)
            scenario.expect(noAuth.status == 401, "no password: 401\n\(noAuth.text)")
            let denied = try await daemon.remoteResult(["-n", "admin:wrong", "-l"], auth: false)
            scenario.expect(denied.status != 0 && denied.output.contains("401"), "a wrong password: \(denied.output)")
            let rebinding = try daemon.request(host: "attacker.example:\(daemon.port)", session: session, body: stop)
            scenario.expect(
                rebinding.status == 421 && rebinding.text.contains("rpc_whitelist"),
                "a host not whitelisted: 421\n\(rebinding.text)")

            // 100 MB announced: refused on the head, before any of it is sent.
            let huge = try LoopbackConnection(port: daemon.port, timeout: .seconds(10))
            let auth = Data("\(RPCDaemon.user):\(RPCDaemon.password)".utf8).base64EncodedString()
            try huge.send(
                Array(
                    ("POST /transmission/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic \(auth)\r\n"
                        + "X-Transmission-Session-Id: \(session)\r\nContent-Length: 100000000\r\n\r\n").utf8))
            let tooLarge = String(decoding: huge.readToEnd(), as: UTF8.self)
            scenario.expect(tooLarge.hasPrefix("HTTP/1.1 413"), "a 100 MB body: 413\n\(tooLarge)")
            // ... and one that is sent anyway, without a length, is cut off at the limit.
            let memoryBefore = try ProcessMemory(pid: daemon.process.pid)
            let chunked = try LoopbackConnection(port: daemon.port, timeout: .seconds(20))
            try chunked.send(
                Array(
                    ("POST /transmission/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic \(auth)\r\n"
                        + "X-Transmission-Session-Id: \(session)\r\nTransfer-Encoding: chunked\r\n\r\n").utf8))
            let chunk = Array("100000\r\n".utf8) + [UInt8](repeating: 0x20, count: 1 << 20) + Array("\r\n".utf8)
            var sent = 0
            while sent < 100, (try? chunked.send(chunk)) != nil { sent += 1 }
            let cut = String(decoding: chunked.readToEnd(), as: UTF8.self)
            let memoryAfter = try ProcessMemory(pid: daemon.process.pid)
            print("[e2e] RPC: a chunked body sent \(sent) MiB before the cut; btq \(memoryBefore) -> \(memoryAfter)")
            scenario.expect(sent < 100, "the server stops reading a body past its limit (sent \(sent) MiB)")
            scenario.expect(cut.isEmpty || cut.hasPrefix("HTTP/1.1 413"), "a chunked flood: 413 or closed\n\(cut)")
            scenario.expect(
                memoryAfter.resident < memoryBefore.resident + (80 << 20),
                "memory bounded by the body limit: \(memoryBefore) -> \(memoryAfter)")

            let invalid = try daemon.request(session: session, body: "{not json")
            scenario.expect(
                invalid.status == 200 && invalid.text.contains("not JSON"), "invalid JSON:\n\(invalid.text)")
            let unknown = try daemon.request(session: session, body: #"{"method":"torrent-explode"}"#)
            scenario.expect(
                unknown.status == 200 && unknown.text.contains("method name not recognized"),
                "unknown method:\n\(unknown.text)")

            let after = try btq.record(of: torrent)
            scenario.expect(after.state == .paused && after == before, "nothing changed: \(before) -> \(after)")
            let settings = try await btq.run(["config", "get", "rpc_password"])
            scenario.expect(
                settings.trimmingCharacters(in: .whitespacesAndNewlines) == "(set)",
                "the password is never shown: \(settings)")

            // The same request, right: it starts the torrent.
            let ok = try daemon.call(stop)
            scenario.expect(ok["result"] as? String == "success", "the right request: \(ok)")
            scenario.expect(try btq.record(of: torrent).state != .paused, "and it took effect")
        }
    }

    /// The stock Transmission web interface (the distribution's, served by btq) in headless Chromium,
    /// with basic authentication: the page lists btq's torrents with their progress. The screenshot is
    /// kept in the test's folder (`web.png`).
    @Test func theWebInterfaceListsTheQueue() async {
        await Scenario.run { scenario in
            let (daemon, _, torrent) = try await RPCDaemon.startForTheWebInterface(
                scenario, seeding: "web-test.bin", size: 300_000)
            let chromium = RPCDaemon.chromium
            let page = try daemon.request("GET", path: "/transmission/web/")
            scenario.expect(
                page.status == 200 && page.text.contains("torrent_list"),
                "the page is served:\n\(page.text.prefix(300))")
            let outside = try daemon.request("GET", path: "/transmission/web/../../../etc/passwd")
            scenario.expect(outside.status == 404, "no way out of the folder: \(outside.status)")

            let credentials = "\(RPCDaemon.user):\(RPCDaemon.password.replacingOccurrences(of: " ", with: "%20"))"
            let url = "http://\(credentials)@127.0.0.1:\(daemon.port)/transmission/web/"
            let screenshot = scenario.path("web.png")
            let profile = try scenario.folder("chromium-profile")
            let common = [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                "--virtual-time-budget=15000", "--window-size=1280,720",
            ]
            let dom = try await scenario.runTool(
                "chromium dump-dom", chromium, common + ["--dump-dom", url], timeout: .seconds(120))
            scenario.expect(
                dom.output.contains("torrent_name") && dom.output.contains(torrent.metainfo.name),
                "the page lists the torrent:\n\(dom.output.suffix(2000))")
            scenario.expect(dom.output.contains("100%"), "with its progress")
            let shot = try await scenario.runTool(
                "chromium screenshot", chromium, common + ["--screenshot=\(screenshot.path)", url],
                timeout: .seconds(120))
            scenario.expect(
                shot.status == 0 && FileManager.default.fileExists(atPath: screenshot.path),
                "a screenshot: \(shot.output)")
            if let kept = ProcessInfo.processInfo.environment["BTQ_E2E_SCREENSHOT"] {
                try? FileManager.default.removeItem(atPath: kept)
                try FileManager.default.copyItem(atPath: screenshot.path, toPath: kept)
            }
        }
    }

    /// The Python `transmission-rpc` client (PyPI) drives the same calls with its own type checks
    /// (`Support/rpc_client.py`): add paused, files unwanted and wanted again, start until done, stop,
    /// verify, list, stats, free space, a magnet, remove with the data.
    @Test func pythonTransmissionRPCDrivesTheQueue() async {
        await Scenario.run { scenario in
            let check = try await scenario.runTool(
                "python import", E2E.python, ["-c", "import transmission_rpc"], quiet: true)
            try scenario.require(check.status == 0, "transmission-rpc is installed (scripts/install-deps)")
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            let other = try TestContent.singleFile(
                name: "other.bin", size: 100_000, seed: 9, in: scenario.path("other"))
            let magnet = MagnetLink.make(from: try await btq.create(other, trackers: []).metainfo).uri
            let daemon = try await RPCDaemon.start(btq)
            let script = E2E.supportDirectory.appendingPathComponent("rpc_client.py").path
            let result = try await scenario.runTool(
                "rpc_client.py", E2E.python,
                [script, "\(daemon.port)", RPCDaemon.user, RPCDaemon.password, torrent.url.path, out.path, magnet],
                timeout: .seconds(300))
            scenario.expect(result.status == 0 && result.output.hasSuffix("ok\n"), "the script:\n\(result.output)")
            let record = try btq.store().queries.torrents(includeRemoved: true).first {
                $0.infoHashV1 == torrent.metainfo.infoHashes.v1?.hex
            }
            scenario.expect(
                record?.removedAt != nil && record?.completedAt != nil,
                "downloaded, then removed: \(String(describing: record))")
            let left = try FileManager.default.contentsOfDirectory(atPath: out.path)
            scenario.expect(left.isEmpty, "its data deleted: \(left)")
        }
    }

    @Test func aNonLoopbackAddressWithoutAPasswordIsRefused() async {
        await Scenario.run { scenario in
            let btq = try Btq(scenario)
            try await btq.run(["config", "set", "rpc_bind_address", "0.0.0.0"])
            let result = try await scenario.runTool(
                "btq run", Btq.executable, ["run", "--port", "\(try FreePort.next())", "--rpc"],
                environment: ["BTQ_DB": btq.database.path], timeout: .seconds(30))
            scenario.expect(result.status != 0 && result.output.contains("password"), "refused:\n\(result.output)")
        }
    }
}
