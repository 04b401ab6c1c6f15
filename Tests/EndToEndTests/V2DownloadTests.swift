import Engine
import Foundation
import Store
import Testing

/// v2-only and hybrid torrents (BEP 52) against libtorrent 2, the reference client: btq downloads
/// them and checks every piece against its merkle root (and a hybrid's SHA-1 too), seeds them, and
/// `btq verify` checks them on disk.
@Suite("v2 and hybrid torrents against libtorrent", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct V2DownloadTests {
    enum Kind: String, CaseIterable, Sendable {
        case v2, hybrid
        var flag: String { "--" + rawValue }
        var version: MetainfoVersion { self == .v2 ? .v2 : .hybrid }
    }

    /// The multi-file tree (empty files, files of one block, of less than a piece, of exactly a piece and
    /// of many pieces) from a libtorrent seeder found through opentracker, which is told the truncated
    /// v2 hash: the handshake and the announces of a v2-only torrent carry it.
    @Test(arguments: Kind.allCases)
    func treeFromLibtorrent(_ kind: Kind) async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content, create: [kind.flag])
            scenario.expect(torrent.metainfo.version == kind.version, "btq made a \(kind) torrent")
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of the \(kind) tree: \(report)")
        }
    }

    /// btq is the only seed of the v2 (or hybrid) tree; a libtorrent leecher that knows only btq's
    /// address downloads it byte-identically (it checks each piece against the merkle tree itself).
    @Test(arguments: Kind.allCases)
    func libtorrentLeechesFromBtq(_ kind: Kind) async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content, create: [kind.flag])
            let seeder = try await BtqSeeder.start(btq, torrents: [torrent], data: content.root)
            let out = try scenario.folder("leecher")
            let leecher = try LibtorrentLeecher.start(
                in: scenario, torrent: torrent, into: out, peers: [seeder.address])
            try await leecher.waitUntilComplete()
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "libtorrent's download of the \(kind) tree from btq: \(report)")
        }
    }

    /// `btq verify` checks a v2 (or hybrid) torrent's data on disk: every piece is valid, and after one
    /// byte of a file changes exactly one piece is not.
    @Test(arguments: Kind.allCases)
    func verifyFindsTheDamagedPiece(_ kind: Kind) async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let btq = try Btq(scenario)
            let torrent = try await btq.create(content, trackers: [], extra: [kind.flag])
            let pieces = torrent.metainfo.pieceCount
            try await btq.run(["add", torrent.url.path, "--dir", content.root.path])
            let clean = try await btq.run(["verify", "1"], timeout: .seconds(120))
            scenario.expect(clean.contains("\(pieces) of \(pieces) pieces valid"), "all pieces valid:\n\(clean)")

            let damaged = content.root.appendingPathComponent("tree/big/large.bin")
            let handle = try FileHandle(forUpdating: damaged)
            try handle.seek(toOffset: 1_000_000)
            let byte = try #require(try handle.read(upToCount: 1)?.first)
            try handle.seek(toOffset: 1_000_000)
            try handle.write(contentsOf: [byte ^ 0xFF])
            try handle.close()
            let found = try await btq.run(["verify", "1"], timeout: .seconds(120))
            scenario.expect(
                found.contains("\(pieces - 1) of \(pieces) pieces valid"), "one damaged piece found:\n\(found)")
        }
    }
}

extension V2DownloadTests {
    /// A peer that inverts every block of every third piece of a v2-only torrent, next to a slow good
    /// libtorrent seeder: the merkle checks reject its pieces, btq ends with the right data, bans it
    /// (not the good seeder, although both are 127.0.0.1).
    @Test func corruptingPeerOfAV2TorrentIsBanned() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "victim.bin", size: 8 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content, create: ["--v2"])
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 2_000_000)
            let bad = try await CorruptingPeer.start(
                in: scenario, torrent: torrent, data: content.root, modulus: 3, remainder: 0)
            let out = try scenario.folder("download")
            let result = try await btq.get([torrent.url.path], into: out, peers: [bad.address])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of a v2 torrent next to a corrupting peer: \(report)")

            let stats = try bad.stats()
            scenario.expect(stats.handshakes > 0, "the corrupting peer got no v2 handshake: \(stats)")
            scenario.expect(stats.corruptBlocks > 0, "btq never took a block from the corrupting peer (\(stats))")
            let record = try btq.record(of: torrent)
            scenario.expect(record.wasted > 0, "the database records no wasted bytes: \(record)")
            let peers = try btq.store().queries.peers(torrentId: record.id)
            let badRecord = peers.first { $0.port == Int(bad.port) }
            scenario.expect(
                badRecord?.isBanned == true && (badRecord?.hashFailures ?? 0) > 0,
                "the corrupting peer should be banned with hash failures: \(peers)")
            scenario.expect(
                peers.first { $0.port == Int(seeder.port) }?.isBanned != true, "the good seeder is not banned: \(peers)"
            )
            print("[e2e] v2 download next to a corrupting peer: \(String(format: "%.2f", result.seconds)) s, \(stats)")
        }
    }
}
