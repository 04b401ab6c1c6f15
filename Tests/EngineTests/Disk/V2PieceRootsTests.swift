import Crypto
import Foundation
import Testing

@testable import Engine

/// The v2 check of a piece (``V2PieceRoots``) and a hybrid's check with both hashes, on torrents
/// `TorrentCreator` makes (whose trees `TorrentCreatorTests` and `CreateCommandTests` check against a
/// plain merkle computation and libtorrent).
@Suite(.timeLimit(.minutes(5)))
struct V2PieceRootsTests {
    /// Files of one block, of less than a piece, of exactly two pieces and of several with a short last one.
    static let sizes: [(String, Int)] = [("a.bin", 16_384), ("b.bin", 40_000), ("c.bin", 65_536), ("d.bin", 100_001)]
    static let pieceLength = 32_768

    /// A torrent of the sizes above (`flipping` one byte of d.bin at that offset) and the byte stream
    /// of its aligned piece space (pad as zeros).
    static func make(
        _ version: MetainfoVersion, flipping flipped: Int? = nil
    ) throws -> (Metainfo, [UInt8], [UInt8]) {
        let temporary = try TorrentCreatorTests.TemporaryFolder()
        var stream: [UInt8] = []
        for (index, (name, size)) in sizes.enumerated() {
            var bytes = try temporary.write("pack/" + name, length: size, seed: UInt64(index + 1))
            if name == "d.bin", let flipped {
                bytes[flipped] ^= 0xFF
                try Data(bytes).write(to: temporary.url.appendingPathComponent("pack/" + name))
            }
            stream += bytes + [UInt8](repeating: 0, count: (pieceLength - size % pieceLength) % pieceLength)
        }
        let options = TorrentCreator.Options(pieceLength: pieceLength, creationDate: 1, threads: 2, version: version)
        let bytes = try TorrentCreator(options: options).create(from: temporary.url.appendingPathComponent("pack").path)
        return (try Metainfo(bytes: bytes), stream, bytes)
    }

    static func storage(_ metainfo: Metainfo, _ stream: [UInt8]) async throws -> MemoryStorage {
        let storage = MemoryStorage(metainfo: metainfo)
        try await storage.prepare()
        for piece in 0..<metainfo.pieceCount {
            let start = piece * metainfo.pieceLength
            try await storage.write(
                piece: PieceIndex(piece), begin: 0,
                bytes: Array(stream[start..<min(start + metainfo.pieceLength, stream.count)]))
        }
        return storage
    }

    @Test(arguments: [MetainfoVersion.v2, .hybrid])
    func everyPieceMatchesAndAChangedByteFailsOnlyItsPiece(_ version: MetainfoVersion) async throws {
        let (metainfo, stream, _) = try Self.make(version)
        #expect(metainfo.pieceCount == 1 + 2 + 2 + 4)
        let roots = try #require(try V2PieceRoots(metainfo: metainfo))
        // One-piece files: leaves padded to a power of two (1 and 4 blocks); longer files: 2 leaves a piece.
        #expect(roots.shape(of: 0)! == (16_384, 1))
        #expect(roots.shape(of: 1)! == (32_768, 2))
        #expect(roots.shape(of: 2)! == (7_232, 2))
        #expect(roots.shape(of: 8)! == (100_001 - 3 * 32_768, 2))
        let storage = try await Self.storage(metainfo, stream)
        let verifier = try PieceVerifier(metainfo: metainfo, concurrency: 2)
        #expect(await verifier.verify(storage).validCount == metainfo.pieceCount)

        var damaged = stream
        damaged[5 * Self.pieceLength + 40_000] ^= 1  // d.bin's second piece
        let report = await verifier.verify(try await Self.storage(metainfo, damaged))
        #expect(report.validPieces.map(\.value) == [0, 1, 2, 3, 4, 5, 7, 8])
    }

    /// A hybrid piece is good only when both hashes agree: merkle roots of other content fail it though
    /// its SHA-1 matches, and a SHA-1 of other content fails it though its merkle root matches.
    @Test func aHybridPieceNeedsBothHashes() async throws {
        let (metainfo, stream, _) = try Self.make(.hybrid)
        let (other, _, _) = try Self.make(.hybrid, flipping: 50_000)  // d.bin's second piece: piece 6
        let storage = try await Self.storage(metainfo, stream)
        let layout = PieceLayout(metainfo)
        let wrongMerkle = PieceVerifier(
            layout: layout, pieceHashes: metainfo.pieceHashes, merkle: try V2PieceRoots(metainfo: other))
        #expect(await wrongMerkle.verify(storage).validPieces.map(\.value) == [0, 1, 2, 3, 4, 5, 7, 8])
        let wrongSHA1 = PieceVerifier(
            layout: layout, pieceHashes: other.pieceHashes, merkle: try V2PieceRoots(metainfo: metainfo))
        #expect(await wrongSHA1.verify(storage).validPieces.map(\.value) == [0, 1, 2, 3, 4, 5, 7, 8])
        let right = PieceVerifier(
            layout: layout, pieceHashes: metainfo.pieceHashes, merkle: try V2PieceRoots(metainfo: metainfo))
        #expect(await right.verify(storage).validCount == 9)
    }

    /// A v2 torrent whose `piece layers` lack a file longer than a piece cannot be checked: a typed error.
    @Test func missingPieceLayersAreRefused() throws {
        let (_, _, bytes) = try Self.make(.v2)
        let node = try BencodeDecoder().decode(bytes)
        guard case .dictionary(var torrent) = node.plainValue else {
            Issue.record("not a dictionary")
            return
        }
        torrent[Array("piece layers".utf8)] = .dictionary([[UInt8]: BencodeValue]())
        let stripped = try Metainfo(bytes: BencodeEncoder().encode(.dictionary(torrent)))
        #expect(throws: V2PieceRoots.Missing.self) { try V2PieceRoots(metainfo: stripped) }
        #expect(throws: V2PieceRoots.Missing.self) { try PieceVerifier(metainfo: stripped) }
    }
}
