import Engine
import Foundation
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// HTTPS trackers (issue 15): opentracker behind a TLS front (Python's `ssl` module) whose certificate
/// comes from a test CA made with the `openssl` CLI. btq trusts that CA only through `tls_ca_file`.
@Suite("btq announces to HTTPS trackers", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(10)))
struct HTTPSTrackerTests {
    /// How btq runs the download: `btq get --seed` or the daemon `btq run`.
    enum Runner: String, CaseIterable, Sendable {
        case get, run
    }

    /// btq trusts the test CA through `tls_ca_file`, announces to and scrapes `https://localhost:PORT`
    /// (SNI and a DNS name checked), finds the libtorrent seeder there and downloads from it, with
    /// `btq get` and with the daemon `btq run` (each reads the setting when it starts).
    @Test(arguments: Runner.allCases)
    func downloadsFromASeederFoundThroughAnHTTPSTracker(_ runner: Runner) async {
        await Scenario.run { scenario in
            let ca = try await TestCA.make(in: scenario)
            let certificate = try await ca.serverCertificate()
            let tracker = try OpenTracker(scenario)
            let front = try await TLSFront.start(
                in: scenario, certificate: certificate, mode: .proxy, upstream: tracker.port)
            let content = try TestContent.singleFile(name: "tls.bin", size: 16 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            try await btq.run(["config", "set", "tls_ca_file", ca.certificate.path])
            let url = front.announce(host: "localhost")
            let torrent = try await btq.create(content, trackers: [url])
            try await tracker.start(whitelisting: [torrent])
            // libtorrent does not trust the test CA: its address reaches opentracker over plain HTTP,
            // and btq can only learn it through the TLS front.
            let seeder = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            try tracker.announceSeeder(of: torrent, port: seeder.port)

            let out = try scenario.folder("download")
            let (id, child) = try await Self.startGet(
                torrent, btq: btq, into: out, seed: true, daemon: runner == .run, in: scenario)
            try await child.waitUntil("it downloaded and scraped over HTTPS", timeout: E2E.downloadTimeout) {
                guard try btq.record(of: torrent).state == .seeding,
                    let stored = try btq.store().queries.trackers(torrentId: id).first
                else { return false }
                return stored.lastScrapeAt != nil && stored.lastAnnounceAt != nil
            }
            child.send(SIGINT)
            let exit = await child.waitForExit(timeout: .seconds(20))
            scenario.expect(exit == 0, "btq \(runner.rawValue) exits 0 on SIGINT (status \(String(describing: exit)))")

            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download through the HTTPS tracker: \(report)")
            try await btq.expectDownloaded(
                from: "127.0.0.1", port: seeder.port, source: "tracker", of: torrent, in: scenario)
            let stored = try #require(try btq.store().queries.trackers(torrentId: id).first)
            scenario.expect(
                stored.url == url && stored.lastError == nil && stored.scrapeError == nil && stored.seeders ?? 0 >= 1,
                "the HTTPS tracker answered announces and scrapes: \(stored)")
            let log = (try? String(contentsOf: front.process.logURL, encoding: .utf8)) ?? ""
            scenario.expect(
                log.contains("proxy: GET /announce?") && log.contains("proxy: GET /scrape?"),
                "the announces and the scrape went through the TLS front:\n\(front.process.logTail())")
        }
    }

    /// Adds `torrent` to `btq` (into `out`, by default a folder `download`) and starts `btq get` on it
    /// (with `seed`: `--seed`, until stopped), or the daemon `btq run`; returns its id and the running
    /// process.
    static func startGet(
        _ torrent: TestTorrent, btq: Btq, into out: URL? = nil, seed: Bool = false, daemon: Bool = false,
        in scenario: Scenario
    ) async throws -> (id: Int64, process: ChildProcess) {
        let folder = try out ?? scenario.folder("download")
        try await btq.run(["add", torrent.url.path, "--dir", folder.path])
        let id = try btq.record(of: torrent).id
        let command = daemon ? ["run"] : ["get", "\(id)"] + (seed ? ["--seed"] : [])
        let child = try scenario.start(
            "btq \(command[0])", Btq.executable,
            command + [
                "--port", "\(try FreePort.next())", "--bind-address", "127.0.0.1",
            ],
            environment: ["BTQ_DB": btq.database.path])
        return (id, child)
    }

    /// The largest send plus receive buffer of a loopback TCP connection (`tcp_wmem` and `tcp_rmem`).
    static var socketBufferMaximum: Int {
        func maximum(_ name: String) -> Int {
            let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8)) ?? ""
            return text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? (32 << 20)
        }
        return maximum("tcp_wmem") + maximum("tcp_rmem")
    }

    enum Refusal: String, CaseIterable, Sendable {
        /// The certificate's CA is not trusted (no `tls_ca_file`).
        case untrusted
        /// The CA is trusted, but the certificate is made out for another name than the address.
        case wrongName
        /// The same with a host name (`localhost`, sent as SNI) instead of an address.
        case wrongHostName
    }

    /// An untrusted certificate and a certificate for another name are refused: no request goes over
    /// the connection, and `btq info` shows a message that says why.
    @Test(arguments: Refusal.allCases)
    func refusesACertificateItMustNotTrust(_ refusal: Refusal) async {
        await Scenario.run { scenario in
            let ca = try await TestCA.make(in: scenario)
            let names = refusal == .untrusted ? ["127.0.0.1", "localhost"] : ["tracker.example.org"]
            let certificate = try await ca.serverCertificate(for: names)
            let tracker = try OpenTracker(scenario)
            let front = try await TLSFront.start(
                in: scenario, certificate: certificate, mode: .proxy, upstream: tracker.port)
            let btq = try Btq(scenario)
            if refusal != .untrusted {
                try await btq.run(["config", "set", "tls_ca_file", ca.certificate.path])
            }
            let content = try TestContent.singleFile(name: "refused.bin", size: 1 << 20, in: scenario.path("data"))
            let host = refusal == .wrongHostName ? "localhost" : "127.0.0.1"
            let torrent = try await btq.create(content, trackers: [front.announce(host: host)])
            try await tracker.start(whitelisting: [torrent])
            let expected =
                refusal == .untrusted
                ? "tracker TLS failed: the certificate of \(host):\(front.port) is not trusted"
                : "tracker TLS failed: the certificate of \(host):\(front.port) is made out for another name"

            let (id, child) = try await Self.startGet(torrent, btq: btq, in: scenario)
            try await child.waitUntil("the tracker's error is stored", timeout: .seconds(60)) {
                try btq.store().queries.trackers(torrentId: id).first?.lastError != nil
            }
            let stored = try #require(try btq.store().queries.trackers(torrentId: id).first)
            print("HTTPSTrackerTests \(refusal.rawValue): \(stored.lastError ?? "none")")
            scenario.expect(
                stored.lastError?.hasPrefix(expected) == true, "the stored error: \(stored.lastError ?? "none")")
            let info = try await btq.run(["info", "\(id)"])
            scenario.expect(info.contains(expected), "btq info shows why:\n\(info)")
            scenario.expect(!info.contains("NIOSSL") && !info.contains("BoringSSL"), "no library dump:\n\(info)")
            let stats = front.stats()
            scenario.expect(
                stats?.sent == 0 && stats.map { $0.connections >= 1 } == true,
                "btq connected but sent no request to read an answer to: \(String(describing: stats))")
            await child.stop()
        }
    }

    /// A TLS front that completes the handshake and then never answers, sends an endless body, or
    /// sends an endless header: each announce ends within the request timeout (30 s) with a clear
    /// error, btq reads a bounded number of bytes, and its memory stays low.
    @Test(arguments: [TLSFront.Mode.silent, .flood, .headers])
    func aMisbehavingFrontIsBounded(_ mode: TLSFront.Mode) async {
        await Scenario.run { scenario in
            let ca = try await TestCA.make(in: scenario)
            let certificate = try await ca.serverCertificate()
            let front = try await TLSFront.start(in: scenario, certificate: certificate, mode: mode)
            let btq = try Btq(scenario)
            try await btq.run(["config", "set", "tls_ca_file", ca.certificate.path])
            let content = try TestContent.singleFile(name: "hostile.bin", size: 1 << 20, in: scenario.path("data"))
            let torrent = try await btq.create(content, trackers: [front.announce()])
            let (id, child) = try await Self.startGet(torrent, btq: btq, in: scenario)
            let started = ContinuousClock.now
            try await child.waitUntil("the announce failed", timeout: .seconds(60)) {
                try btq.store().queries.trackers(torrentId: id).first?.lastError != nil
            }
            let took = ContinuousClock.now - started
            let memory = try ProcessMemory(pid: child.pid)
            let stored = try #require(try btq.store().queries.trackers(torrentId: id).first)
            let expected: String
            switch mode {
            case .silent: expected = TrackerError.timedOut.description
            case .flood: expected = TrackerError.tooLarge(limit: HTTPTrackerResponse.maxBodyLength).description
            case .headers, .proxy: expected = "malformed tracker reply: HTTP: "
            }
            scenario.expect(
                stored.lastError?.hasPrefix(expected) == true,
                "the \(mode.rawValue) front's announce failed with \(stored.lastError ?? "none"), expected \(expected)")
            scenario.expect(took < .seconds(45), "the announce ended after \(took) (request timeout 30 s)")
            // btq closes every connection it gave up on: the front's sends then fail and it counts them as over.
            try await child.waitUntil("btq closed the front's connections", timeout: .seconds(15)) {
                guard let stats = front.stats() else { return false }
                return stats.handshakes >= 1 && stats.ended == stats.connections
            }
            let stats = try #require(front.stats())
            print(
                "HTTPSTrackerTests \(mode.rawValue) front: \(stats); btq \(memory); the announce failed after \(took)")
            // What the front can push into one connection: btq's limit (2 MiB of body, 80 KiB of headers)
            // plus what the kernel's socket buffers on both sides hold at most.
            let perConnection = HTTPTrackerResponse.maxBodyLength + Self.socketBufferMaximum + (1 << 20)
            scenario.expect(
                stats.sent <= stats.handshakes * perConnection,
                "the front sent \(stats) before btq stopped reading (bound \(perConnection) bytes a connection)")
            if mode == .silent { scenario.expect(stats.sent == 0, "the silent front sent nothing: \(stats)") }
            scenario.expect(
                memory.peak < AttackWatch.residentBound,
                "btq's memory against the \(mode.rawValue) front: \(memory) "
                    + "(bound \(ProcessMemory.mebibytes(AttackWatch.residentBound)))")
            await child.stop()
        }
    }
}
