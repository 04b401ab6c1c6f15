import Crypto
import Testing

@testable import Engine

/// Answering `hash request`s for the block layer from the data (``V2BlockLayerAnswer``): every answer,
/// with its leaves read through the session's piece read path, is compared with the file's whole
/// merkle tree computed naively from its bytes.
@Suite(.timeLimit(.minutes(5)))
struct V2BlockLayerAnswerTests {
    /// The file's bytes laid out as the torrent's single file in a memory storage.
    static func hashing(_ metainfo: Metainfo, _ bytes: [UInt8]) async throws -> PieceHashing {
        var stream = bytes
        stream += [UInt8](repeating: 0, count: metainfo.pieceCount * metainfo.pieceLength - bytes.count)
        let storage = try await V2PieceRootsTests.storage(
            metainfo, Array(stream[0..<Int(PieceLayout(metainfo).totalLength)]))
        return PieceHashing(storage: storage, pieceHashes: nil, merkle: try V2PieceRoots(metainfo: metainfo))
    }

    /// Files longer than a piece (2 and 4 blocks a piece, a short last piece) and files of one piece
    /// (3 blocks padded to 4, and 5 padded to 8): every aligned range of the block layer with each
    /// proof depth matches the naive tree, and with the deepest proof folds up to the root.
    @Test(arguments: [(220_000, 32_768), (150_000, 65_536), (40_000, 65_536), (70_000, 131_072)])
    func everyAnswerMatchesTheNaiveTree(length: Int, pieceLength: Int) async throws {
        let (metainfo, bytes) = try V2HashTreeTests.torrent(length: length, pieceLength: pieceLength)
        let file = try #require(metainfo.files.indices.first { !metainfo.files.isPad(at: $0) })
        let root = try #require(metainfo.files[file].piecesRoot)
        var server = try #require(V2HashServer(metainfo: metainfo))
        let hashing = try await Self.hashing(metainfo, bytes)
        let naive = V2HashTreeTests.naiveLayers(of: bytes)
        let rootLayer = naive.count - 1
        var checked = 0
        var length = 1
        while length <= naive[0].count {
            for index in stride(from: 0, to: naive[0].count, by: length) {
                for proofLayers in 0..<rootLayer {
                    let request = HashRequest(
                        piecesRoot: root, baseLayer: 0, index: UInt32(index), length: UInt32(length),
                        proofLayers: UInt32(proofLayers))
                    let plan = try #require(try server.blockLayer(request))
                    let hashes = try plan.answer(leaves: try await hashing.leaves(for: plan))
                    let k = length.trailingZeroBitCount
                    let top = k == 0 ? proofLayers - 1 : proofLayers
                    var expected = naive[0][index..<index + length].flatMap { $0 }
                    if k <= top {
                        for layer in k...top { expected += naive[layer][(index >> layer) ^ 1] }
                    }
                    #expect(hashes == expected, "index \(index) length \(length) proofs \(proofLayers)")
                    if top == rootLayer - 1 || (k > 0 && k == rootLayer) {
                        #expect(V2HashTreeTests.foldedRoot(request, hashes) == root)
                    }
                    #expect(plan.pieces.allSatisfy { $0 < metainfo.pieceCount })
                    checked += 1
                }
            }
            length *= 2
        }
        #expect(checked >= 10)
    }

    /// A range past the padded leaf layer or proof reaching the root is refused; a layer between the
    /// blocks and the pieces is not served from the data (the tree refuses it); leaves that do not
    /// fold to the piece's hash (data changed on disk) are never sent.
    @Test func outOfRangeRequestsAndChangedDataAreRefused() async throws {
        let (metainfo, bytes) = try V2HashTreeTests.torrent(length: 220_000, pieceLength: 65_536)
        let root = V2HashTreeTests.file(metainfo).root
        var server = try #require(V2HashServer(metainfo: metainfo))
        // 14 blocks: a leaf layer of 16, the root at layer 4.
        for (index, length, proofs) in [(16, 16, 0), (0, 32, 0), (0, 4, 4), (8, 8, 4)] as [(UInt32, UInt32, UInt32)] {
            let request = HashRequest(piecesRoot: root, baseLayer: 0, index: index, length: length, proofLayers: proofs)
            #expect(throws: V2HashTree.Refusal.self) { try server.blockLayer(request) }
        }
        // 150,000 bytes: 10 blocks in 3 pieces, a leaf layer of 16; leaves 12..<16 are wholly in the
        // padding past the last piece: nothing read, zero leaves.
        let (short, _) = try V2HashTreeTests.torrent(length: 150_000, pieceLength: 65_536)
        let shortFile = try #require(short.files.indices.first { !short.files.isPad(at: $0) })
        var shortServer = try #require(V2HashServer(metainfo: short))
        let padding = HashRequest(
            piecesRoot: try #require(short.files[shortFile].piecesRoot), baseLayer: 0, index: 12, length: 4,
            proofLayers: 2)
        let nothing = try #require(try shortServer.blockLayer(padding))
        #expect(nothing.pieces.isEmpty && nothing.pieces.lowerBound <= short.pieceCount)
        #expect(try nothing.answer(leaves: []).prefix(4 * 32).allSatisfy { $0 == 0 })
        let between = HashRequest(piecesRoot: root, baseLayer: 1, index: 0, length: 2, proofLayers: 0)
        #expect(try server.blockLayer(between) == nil)
        #expect(server.answer(between).reply == .reject(between))

        let request = HashRequest(piecesRoot: root, baseLayer: 0, index: 4, length: 4, proofLayers: 1)
        let plan = try #require(try server.blockLayer(request))
        #expect(plan.pieces == 1..<2)
        var leaves = try await Self.hashing(metainfo, bytes).leaves(for: plan)
        leaves[40] ^= 1
        #expect(throws: V2HashTree.Refusal.self) { try plan.answer(leaves: leaves) }
        #expect(throws: V2HashTree.Refusal.self) { try plan.answer(leaves: Array(leaves.dropLast(32))) }
    }

    /// The request that asks for a failed piece's leaves: as many as a piece has blocks (a short last
    /// piece too), or for a file of one piece its blocks padded to a power of two; none for a piece of
    /// one block.
    @Test func theRequestForAPiecesLeaves() throws {
        let (metainfo, _, _) = try V2PieceRootsTests.make(.v2)
        let server = try #require(V2HashServer(metainfo: metainfo))
        let files = metainfo.files.indices.filter { !metainfo.files.isPad(at: $0) }.map { metainfo.files[$0] }
        let root = { (name: String) in files.first { $0.displayPath.hasSuffix(name) }!.piecesRoot! }
        // a.bin: piece 0 (one block); b.bin: 1-2; c.bin: 3-4; d.bin: 5-8 (its last piece short).
        #expect(server.blockHashRequest(for: PieceIndex(0)) == nil)
        let expected: [(Int, String, UInt32)] = [(1, "b.bin", 0), (2, "b.bin", 2), (4, "c.bin", 2), (8, "d.bin", 6)]
        for (piece, name, index) in expected {
            #expect(
                server.blockHashRequest(for: PieceIndex(piece))
                    == HashRequest(piecesRoot: root(name), baseLayer: 0, index: index, length: 2, proofLayers: 0))
        }
        let (single, _) = try V2HashTreeTests.torrent(length: 40_000, pieceLength: 65_536)
        let file = try #require(single.files.indices.first { !single.files.isPad(at: $0) })
        #expect(
            try #require(V2HashServer(metainfo: single)).blockHashRequest(for: PieceIndex(0))
                == HashRequest(
                    piecesRoot: try #require(single.files[file].piecesRoot), baseLayer: 0, index: 0, length: 4,
                    proofLayers: 0))
    }
}
