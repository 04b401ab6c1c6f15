import Engine
import Foundation
import Store
import Testing

/// `https://` web seeds (BEP 19 over TLS): the web server (`web_seed_server.py`) behind the TLS front
/// (`tls_front.py`, relaying a kept-alive connection both ways), its certificate from a test CA that
/// btq trusts only through `tls_ca_file`.
@Suite("HTTPS web seeds", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(10)))
struct HTTPSWebSeedTests {
    /// A multi-file torrent served only by an `https://localhost` web seed: btq checks the certificate
    /// (name and CA), downloads every byte over TLS and verifies it.
    @Test func downloadsFromAnHTTPSWebSeedAlone() async {
        await Scenario.run { scenario in
            let ca = try await TestCA.make(in: scenario)
            let certificate = try await ca.serverCertificate()
            let content = try TestContent.tree(in: scenario.path("data"))
            let server = try await WebSeedServer.start(in: scenario, root: content.root)
            let front = try await TLSFront.start(
                in: scenario, certificate: certificate, mode: .proxy, upstream: server.port)
            let btq = try Btq(scenario)
            try await btq.run(["config", "set", "tls_ca_file", ca.certificate.path])
            let url = "https://localhost:\(front.port)/"
            let torrent = try await btq.create(content, trackers: [], webSeeds: [url])
            let out = try scenario.folder("out")
            let result = try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "the download from the https web seed alone: \(report)")
            let records = try WebSeedTests.webSeedRecords(btq, torrent).filter { $0.address == url }
            scenario.expect(
                records.count == 1 && records[0].downloaded >= Int64(content.totalSize) && !records[0].isBanned,
                "one web seed record with every byte: \(records.map { "\($0.address) \($0.downloaded)" })")
            let requests = server.requests()
            let stats = front.stats()
            scenario.expect(
                !requests.isEmpty && requests.allSatisfy { ($0["status"] as? Int) == 206 },
                "every request reached the server through the TLS front, answered 206: \(requests.prefix(5))")
            print(
                "[e2e] https web seed alone: \(content.totalSize) bytes in "
                    + "\(String(format: "%.1f", result.seconds)) s, \(requests.count) requests over "
                    + "\(stats?.handshakes ?? -1) TLS connections")
        }
    }

    /// The same web seed without `tls_ca_file`: its certificate is not trusted, so btq sends it no
    /// request, records why in the history, and downloads the torrent from a libtorrent peer instead.
    @Test func anUntrustedHTTPSWebSeedIsRefused() async {
        await Scenario.run { scenario in
            let ca = try await TestCA.make(in: scenario)
            let certificate = try await ca.serverCertificate()
            let content = try TestContent.singleFile(name: "tls.bin", size: 4 << 20, in: scenario.path("data"))
            let server = try await WebSeedServer.start(in: scenario, root: content.root)
            let front = try await TLSFront.start(
                in: scenario, certificate: certificate, mode: .proxy, upstream: server.port)
            let btq = try Btq(scenario)
            let url = "https://localhost:\(front.port)/"
            let torrent = try await btq.create(content, trackers: [], webSeeds: [url])
            // At 1 MiB/s the peer takes 4 s: the web seed is tried, and refused, meanwhile.
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 1 << 20)
            let out = try scenario.folder("out")
            try await btq.get([torrent.url.path], into: out, peers: ["127.0.0.1:\(seeder.port)"])
            scenario.expect(TestContent.verify(downloaded: out, against: content).isOK, "the download from the peer")
            let history = WebSeedTests.history(btq, torrent)
            scenario.expect(
                history.contains { $0.hasPrefix("web-seed-failed") && $0.contains("not trusted") },
                "the refused certificate is in the history: \(history)")
            let records = try WebSeedTests.webSeedRecords(btq, torrent)
            scenario.expect(records.allSatisfy { $0.downloaded == 0 }, "nothing came from the web seed: \(records)")
            scenario.expect(server.requests().isEmpty, "no request went over a refused connection")
        }
    }
}
