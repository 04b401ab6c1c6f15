import Engine
import Foundation
import Testing

/// Self-tests of the end-to-end harness: each helper program and check works on its own, so a red
/// acceptance test points at btq, not at the harness.
@Suite("End-to-end harness", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct HarnessTests {
    @Test func namespaceHasOnlyLoopback() throws {
        try E2E.requireLoopbackOnlyNamespace()
        #expect(try E2E.interfaces() == ["lo"])
    }

    @Test func freePortsAreDistinctAndBindable() throws {
        let ports = try (0..<20).map { _ in try FreePort.next(udp: true) }
        #expect(Set(ports).count == ports.count)
        for port in ports {
            #expect(FreePort.canBind(port, type: Int32(SOCK_STREAM.rawValue)))
            #expect(!FreePort.isAccepting(port))
        }
    }

    @Test func contentIsDeterministicAndVerifyFindsDamage() async {
        await Scenario.run { scenario in
            let one = try TestContent.tree(in: scenario.path("one"))
            let two = try TestContent.tree(in: scenario.path("two"))
            let same = TestContent.verify(downloaded: two.root, against: one)
            scenario.expect(same.isOK, "two generations differ: \(same)")
            scenario.expect(one.files.contains { $0.size == 0 } && one.files.count > 50, "the tree lacks variety")
            let nfd = one.files.first { $0.path.utf8.contains(0xCC) }
            scenario.expect(nfd != nil, "no NFD name in the tree")

            // Damage the copy in every way verify must notice.
            let victim = one.files.first { $0.size > 100_000 }!
            let handle = try FileHandle(forUpdating: two.root.appendingPathComponent(victim.path))
            try handle.seek(toOffset: 99_999)
            let byte = try handle.read(upToCount: 1)![0]
            try handle.seek(toOffset: 99_999)
            try handle.write(contentsOf: [byte ^ 1])
            try handle.close()
            let empty = one.files.first { $0.size == 0 }!
            try FileManager.default.removeItem(at: two.root.appendingPathComponent(empty.path))
            try Data([1]).write(to: two.root.appendingPathComponent("tree/leftover.part"))
            if let nfd {
                // The same name in NFC is a different file name on Linux.
                var parts = nfd.path.split(separator: "/").map(String.init)
                let leaf = parts.removeLast()
                let folder = two.root.appendingPathComponent(parts.joined(separator: "/"))
                try FileManager.default.moveItem(
                    atPath: folder.appendingPathComponent(leaf).path,
                    toPath: folder.appendingPathComponent(leaf.precomposedStringWithCanonicalMapping).path)
            }
            let report = TestContent.verify(downloaded: two.root, against: one)
            let text = report.problems.joined(separator: "\n")
            scenario.expect(
                text.contains("\(victim.path): content differs from byte 99999"), "flip not found: \(report)")
            scenario.expect(text.contains("\(empty.path): missing"), "missing empty file not found: \(report)")
            scenario.expect(text.contains("tree/leftover.part: not part"), "extra file not found: \(report)")
            scenario.expect(report.problems.count == 5, "expected 5 problems (NFC rename counts twice): \(report)")
        }
    }

    /// opentracker (HTTP and UDP) + a libtorrent seeder + a libtorrent leecher: the tracker works,
    /// the seeder seeds, libtorrent accepts btq-made torrents, and verify passes on a real download.
    @Test(arguments: ["http", "udp"])
    func libtorrentDownloadsThroughOpenTracker(_ kind: String) async {
        await Scenario.run { scenario in
            let content =
                kind == "http"
                ? try TestContent.tree(in: scenario.path("data"))
                : try TestContent.singleFile(size: 3 << 20, in: scenario.path("data"))
            let (_, torrent) = try await scenario.trackedTorrent(of: content, udp: kind != "http")
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            let leecher = try LibtorrentLeecher.start(in: scenario, torrent: torrent, into: out)
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download: \(report)")
        }
    }

    /// Two partial libtorrent seeders hold exactly the pieces asked for, never fill each other's
    /// gaps, and together serve the whole content.
    @Test func partialSeedersTogetherServeEverything() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (_, torrent) = try await scenario.trackedTorrent(of: content)
            let (even, odd) = DownloadTests.halves(pieceCount: torrent.metainfo.pieceCount)
            let first = try await LibtorrentSeeder.start(
                in: scenario, name: "even seeder", torrents: [torrent], data: content.root, have: even)
            let second = try await LibtorrentSeeder.start(
                in: scenario, name: "odd seeder", torrents: [torrent], data: content.root, have: odd)
            let out = try scenario.folder("download")
            let leecher = try LibtorrentLeecher.start(in: scenario, torrent: torrent, into: out)
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "download from two partial seeders: \(report)")
            for (seeder, mask) in [(first, even), (second, odd)] {
                // Its status file is rewritten every 0.5 s: wait for one written after the download.
                let status = try await seeder.status(after: .now) { $0.uploaded > 0 }
                scenario.expect(status.pieces == mask, "a partial seeder now holds \(status.pieces), not \(mask)")
                scenario.expect(status.uploaded > 0, "a partial seeder uploaded nothing")
            }
        }
    }

    /// transmission-daemon verifies and seeds the tree to a libtorrent leecher that dials it.
    @Test func transmissionSeedsTheTree() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [])
            let seeder = try await TransmissionSeeder.start(in: scenario, torrent: torrent, data: content.root)
            let out = try scenario.folder("download")
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: out, peers: [seeder.address])
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download from transmission: \(report)")
        }
    }

    /// The corrupting peer speaks enough of the wire protocol: handshake, bitfield, unchoke on
    /// interested, and a block that is inverted for piece 0 and right for piece 1.
    @Test func corruptingPeerAnswersHandshakeAndRequests() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(size: 1 << 20, in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], pieceSize: "64K")
            let peer = try await CorruptingPeer.start(in: scenario, torrent: torrent, data: content.root)
            let source = TestContent.bytes(of: content.files[0])
            let connection = try LoopbackConnection(port: peer.port)
            let infoHash = torrent.metainfo.infoHashes.wireHash
            try connection.send(
                [19] + Array("BitTorrent protocol".utf8) + [UInt8](repeating: 0, count: 8) + infoHash
                    + Array("-E2E000-abcdefghijkl".utf8))
            let handshake = try connection.read(exactly: 68)
            try scenario.require(Array(handshake[28..<48]) == infoHash, "the handshake names another info-hash")
            let bitfield = try Self.readMessage(connection)
            try scenario.require(
                bitfield.first == 5 && bitfield.count == 1 + (torrent.metainfo.pieceCount + 7) / 8
                    && bitfield.dropFirst().allSatisfy { $0 == 0xFF },
                "expected a full bitfield, got \(bitfield.prefix(8))")
            try connection.send([0, 0, 0, 1, 2])
            try scenario.require(try Self.readMessage(connection) == [1], "expected unchoke after interested")
            for piece in [0, 1] {
                let begin = 16_384
                try connection.send([0, 0, 0, 13, 6] + Self.be32(piece) + Self.be32(begin) + Self.be32(16_384))
                let message = try Self.readMessage(connection)
                try scenario.require(message.count == 9 + 16_384 && message[0] == 7, "expected a piece message")
                let start = piece * 65_536 + begin
                let expected = Array(source[start..<start + 16_384])
                let got = Array(message[9...])
                if piece == 0 {
                    scenario.expect(got == expected.map { $0 ^ 0xFF }, "piece 0 should come back inverted")
                } else {
                    scenario.expect(got == expected, "piece 1 should come back intact")
                }
            }
            let stats = try peer.stats()
            scenario.expect(
                stats.handshakes == 1 && stats.corruptBlocks == 1 && stats.goodBlocks == 1, "stats: \(stats)")
        }
    }

    /// libtorrent, leeching from the corrupting peer and a slow good seeder, gets bad blocks, and
    /// still ends with the right data.
    @Test func libtorrentSurvivesTheCorruptingPeer() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(size: 4 << 20, in: scenario.path("data"))
            let (_, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 2_000_000)
            // Every block it sends is bad: whatever libtorrent takes from it is a bad block.
            let bad = try await CorruptingPeer.start(
                in: scenario, torrent: torrent, data: content.root, modulus: 1, remainder: 0)
            let out = try scenario.folder("download")
            let leecher = try LibtorrentLeecher.start(in: scenario, torrent: torrent, into: out, peers: [bad.address])
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download next to the corrupting peer: \(report)")
            let stats = try bad.stats()
            scenario.expect(stats.corruptBlocks > 0, "libtorrent took no bad block: \(stats)")
        }
    }

    static func readMessage(_ connection: LoopbackConnection) throws -> [UInt8] {
        while true {
            let prefix = try connection.read(exactly: 4)
            let length = prefix.reduce(0) { $0 << 8 | Int($1) }
            if length > 0 { return try connection.read(exactly: length) }
        }
    }

    static func be32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
