import Engine
import Foundation
import Store
import Testing

/// The acceptance tests of the download engine (issue 3): `btq get` against real BitTorrent
/// programs on 127.0.0.1, inside a loopback-only network namespace.
@Suite("btq get against real peers", .enabled(if: E2E.isEnabled), .timeLimit(.minutes(15)))
struct DownloadTests {
    enum TrackerKind: String, CaseIterable, Sendable {
        case http, udp
    }

    /// A single file of 64 MiB from a libtorrent seeder found through opentracker, over HTTP and
    /// over UDP (the torrent lists only the one tracker).
    @Test(arguments: TrackerKind.allCases)
    func singleFileFromLibtorrent(_ kind: TrackerKind) async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "big.bin", size: 64 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content, udp: kind != .http)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download over the \(kind.rawValue) tracker: \(report)")
        }
    }

    /// The multi-file tree (nested folders, empty files, sub-piece and piece-spanning files,
    /// non-ASCII and NFD names) from a libtorrent seeder through opentracker.
    @Test func treeFromLibtorrent() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of the tree: \(report)")
        }
    }

    /// The tree from transmission-daemon. Transmission never dials 127.0.0.1, so btq dials it
    /// (`--peer`); the tracker is there too, as it would be in real life.
    @Test func treeFromTransmission() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            let seeder = try await TransmissionSeeder.start(in: scenario, torrent: torrent, data: content.root)
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out, peers: [seeder.address])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download of the tree from transmission: \(report)")
        }
    }

    /// Two libtorrent seeders, one with the even pieces and one with the odd ones (neither can fill
    /// its gaps from the other): btq needs both for the whole tree.
    @Test func twoPartialSeedersTogether() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            let (even, odd) = Self.halves(pieceCount: torrent.metainfo.pieceCount)
            let first = try await LibtorrentSeeder.start(
                in: scenario, name: "even seeder", torrents: [torrent], data: content.root, have: even)
            let second = try await LibtorrentSeeder.start(
                in: scenario, name: "odd seeder", torrents: [torrent], data: content.root, have: odd)
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out)
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download from two partial seeders: \(report)")
            for seeder in [first, second] {
                let status = try await seeder.status(after: .now) { $0.uploaded > 0 }
                scenario.expect(status.uploaded > 0, "each partial seeder should have sent data: \(status.pieces)")
            }
        }
    }

    /// A peer that inverts every block of every third piece, next to a slow good seeder: btq ends
    /// with the right data, records the waste, and bans the bad peer (not the good one, although
    /// both are 127.0.0.1).
    @Test func corruptingPeerIsBanned() async {
        await Scenario.run { scenario in
            let content = try TestContent.singleFile(name: "victim.bin", size: 8 << 20, in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            // About 4 s for everything from the good seeder alone: the bad peer gets its chance.
            let seeder = try await LibtorrentSeeder.start(
                in: scenario, torrents: [torrent], data: content.root, uploadRate: 2_000_000)
            let bad = try await CorruptingPeer.start(
                in: scenario, torrent: torrent, data: content.root, modulus: 3, remainder: 0)
            let out = try scenario.folder("download")
            try await btq.get([torrent.url.path], into: out, peers: [bad.address])
            let report = TestContent.verify(downloaded: out, against: content)
            scenario.expect(report.isOK, "btq's download next to a corrupting peer: \(report)")

            let stats = try bad.stats()
            scenario.expect(
                stats.corruptBlocks > 0,
                "btq never took a block from the corrupting peer (\(stats)): nothing was tested about bans")
            let record = try btq.record(of: torrent)
            scenario.expect(record.wasted > 0, "the database records no wasted bytes: \(record)")
            let peers = try btq.store().queries.peers(torrentId: record.id)
            let listing = peers.map {
                "\($0.address):\($0.port) banned=\($0.isBanned) hashFailures=\($0.hashFailures) source=\($0.source)"
            }.joined(separator: "; ")
            let badRecord = peers.first { $0.port == Int(bad.port) }
            scenario.expect(
                badRecord?.isBanned == true && (badRecord?.hashFailures ?? 0) > 0,
                "the corrupting peer 127.0.0.1:\(bad.port) should be banned with hash failures; peers: \(listing)")
            let goodRecord = peers.first { $0.port == Int(seeder.port) }
            scenario.expect(
                goodRecord?.isBanned != true,
                "the good seeder 127.0.0.1:\(seeder.port) must not be banned (ban by address and port, or by peer "
                    + "id, not by IP: every peer here is 127.0.0.1); peers: \(listing)")
        }
    }

    /// Only some files wanted (`btq get --only`): they are complete and correct; no piece that lies
    /// wholly in skipped files is on disk, so a skipped file that has such a piece is incomplete.
    @Test func onlyChosenFilesComplete() async {
        await Scenario.run { scenario in
            let content = try TestContent.tree(in: scenario.path("data"))
            let (btq, torrent) = try await scenario.trackedTorrent(of: content)
            _ = try await LibtorrentSeeder.start(in: scenario, torrents: [torrent], data: content.root)
            let wantedPaths = ["tree/Grüße/naïve ☃.txt", "tree/a/b/c/deep.bin", "tree/edge/piece exact.bin"]
            let wanted = try wantedPaths.map { try torrent.fileIndex(of: $0) }.sorted()
            let out = try scenario.folder("download")
            try await btq.get(
                [torrent.url.path], into: out,
                extra: [Btq.onlyFilesOption, wanted.map(String.init).joined(separator: ",")])

            let report = TestContent.verify(downloaded: out, against: content, only: Set(wantedPaths))
            scenario.expect(report.isOK, "the wanted files: \(report)")

            let layout = PieceLayout(torrent: torrent, content: content)
            let exclusive = layout.piecesOnlyIn(skippedExcept: Set(wanted))
            scenario.expect(!exclusive.isEmpty, "test setup: no piece lies wholly in skipped files")
            let fetched = exclusive.filter { layout.pieceIsIntact($0, under: out) }
            scenario.expect(
                fetched.isEmpty,
                "pieces that lie wholly in skipped files are on disk: \(fetched.map(String.init).joined(separator: ", "))"
                    + " (files: \(Set(fetched.flatMap { layout.files(inPiece: $0) }).sorted().joined(separator: ", ")))"
            )
            var completeSkipped: [String] = []
            for file in content.files where !wantedPaths.contains(file.path) && file.size > 0 {
                let index = try torrent.fileIndex(of: file.path)
                let hasOwnPiece = !Set(torrent.pieces(ofFile: index)).isDisjoint(with: exclusive)
                if hasOwnPiece, TestContent.compare(out.appendingPathComponent(file.path), with: file) == nil {
                    completeSkipped.append(file.path)
                }
            }
            scenario.expect(
                completeSkipped.isEmpty,
                "skipped files are complete although they have pieces no wanted file needs: "
                    + completeSkipped.joined(separator: ", "))
        }
    }

    /// Piece masks with the even / the odd pieces.
    static func halves(pieceCount: Int) -> (even: String, odd: String) {
        (
            String((0..<pieceCount).map { $0 % 2 == 0 ? "1" : "0" }),
            String((0..<pieceCount).map { $0 % 2 == 0 ? "0" : "1" })
        )
    }
}
