import Crypto
import Foundation
import Testing

@testable import Engine

/// Answering BEP 52 `hash request`s (``V2HashTree``, ``V2HashServer``): every answer is compared with
/// the file's whole merkle tree computed naively from its bytes, and its hashes with their uncles must
/// fold up to the file's `pieces root`.
@Suite(.timeLimit(.minutes(5)))
struct V2HashTreeTests {
    /// One file of `length` bytes in a v2 torrent of `pieceLength` pieces; its metainfo and bytes.
    static func torrent(length: Int, pieceLength: Int) throws -> (Metainfo, [UInt8]) {
        let temporary = try TorrentCreatorTests.TemporaryFolder()
        let bytes = try temporary.write("one/file.bin", length: length, seed: UInt64(length))
        let options = TorrentCreator.Options(pieceLength: pieceLength, creationDate: 1, threads: 2, version: .v2)
        let torrent = try TorrentCreator(options: options).create(
            from: temporary.url.appendingPathComponent("one").path)
        return (try Metainfo(bytes: torrent), bytes)
    }

    /// Every layer of the file's tree from the leaves (index 0) to the root, 32-byte nodes each.
    static func naiveLayers(of bytes: [UInt8]) -> [[[UInt8]]] {
        var leaves: [[UInt8]] = stride(from: 0, to: bytes.count, by: MerkleTree.blockSize).map {
            Array(SHA256.hash(data: bytes[$0..<min($0 + MerkleTree.blockSize, bytes.count)]))
        }
        var width = 1
        while width < leaves.count { width *= 2 }
        leaves += Array(repeating: [UInt8](repeating: 0, count: 32), count: width - leaves.count)
        var layers = [leaves]
        while layers[layers.count - 1].count > 1 {
            let below = layers[layers.count - 1]
            layers.append(
                stride(from: 0, to: below.count, by: 2).map { Array(SHA256.hash(data: below[$0] + below[$0 + 1])) })
        }
        return layers
    }

    /// The root implied by an answer whose uncles reach the root (the request's proof layers up to
    /// the layer below it), folding the base hashes, then each uncle on its side.
    static func foldedRoot(_ request: HashRequest, _ hashes: [UInt8]) -> [UInt8] {
        let count = Int(request.length)
        var node = MerkleTree.root(ofLayer: hashes[0..<count * 32], padding: [UInt8](repeating: 0, count: 32))
        var position = Int(request.index) >> count.trailingZeroBitCount
        for offset in stride(from: count * 32, to: hashes.count, by: 32) {
            let uncle = Array(hashes[offset..<offset + 32])
            node = Array(SHA256.hash(data: position % 2 == 0 ? node + uncle : uncle + node))
            position /= 2
        }
        return node
    }

    static func file(_ metainfo: Metainfo) -> (root: [UInt8], layer: [UInt8]) {
        let root = metainfo.files[metainfo.files.indices.first { !metainfo.files.isPad(at: $0) }!].piecesRoot!
        return (root, metainfo.pieceLayers[root]!)
    }

    /// Files of 19 pieces of one block (piece layer 0, 5 layers), 7 pieces of two blocks and 3 of four:
    /// every aligned range of every size at every layer from the piece layer, with each proof depth,
    /// matches the naive tree, and with the deepest proof folds up to the root.
    @Test(arguments: [(300_000, 16_384), (220_000, 32_768), (150_000, 65_536)])
    func everyAnswerMatchesTheNaiveTree(length: Int, pieceLength: Int) throws {
        let (metainfo, bytes) = try Self.torrent(length: length, pieceLength: pieceLength)
        let (root, layer) = Self.file(metainfo)
        let tree = try #require(
            V2HashTree(piecesRoot: root, pieceLayer: layer[...], fileLength: Int64(length), pieceLength: pieceLength))
        let naive = Self.naiveLayers(of: bytes)
        #expect(naive.last!.first! == root)
        #expect(tree.layerCount == naive.count - 1)
        #expect(tree.pieceLayer == (pieceLength / MerkleTree.blockSize).trailingZeroBitCount)
        var checked = 0
        for base in tree.pieceLayer..<tree.layerCount {
            let width = naive[base].count
            #expect(tree.width(ofLayer: base) == width)
            var length = 1
            while length <= width {
                for index in stride(from: 0, to: width, by: length) {
                    for proofLayers in 0..<(tree.layerCount - base) {
                        let request = HashRequest(
                            piecesRoot: root, baseLayer: UInt32(base), index: UInt32(index), length: UInt32(length),
                            proofLayers: UInt32(proofLayers))
                        let hashes = try tree.answer(request)
                        let k = length.trailingZeroBitCount
                        let top = k == 0 ? base + proofLayers - 1 : base + proofLayers
                        var expected = naive[base][index..<index + length].flatMap { $0 }
                        if base + k <= top {
                            for layer in (base + k)...top { expected += naive[layer][(index >> (layer - base)) ^ 1] }
                        }
                        #expect(
                            hashes == expected, "layer \(base) index \(index) length \(length) proofs \(proofLayers)")
                        #expect(hashes.count <= (length + proofLayers) * 32, "within what HashMessage accepts")
                        if top == tree.layerCount - 1 || (k > 0 && base + k == tree.layerCount) {
                            #expect(Self.foldedRoot(request, hashes) == root)
                        }
                        // The message carrying it decodes.
                        let message = HashMessage.hashes(request, hashes: hashes)
                        #expect(try HashMessage(id: HashMessage.hashesID, payload: message.payload) == message)
                        checked += 1
                    }
                }
                length *= 2
            }
        }
        #expect(checked >= 10)
    }

    /// Below the piece layer, at the root, past the layer's end, or proof layers reaching the root:
    /// refused, with a reason.
    @Test func outOfRangeRequestsAreRefused() throws {
        let (metainfo, _) = try Self.torrent(length: 220_000, pieceLength: 32_768)
        let (root, layer) = Self.file(metainfo)
        let tree = try #require(
            V2HashTree(piecesRoot: root, pieceLayer: layer[...], fileLength: 220_000, pieceLength: 32_768))
        #expect((tree.pieceLayer, tree.layerCount) == (1, 4))
        let refused: [(UInt32, UInt32, UInt32, UInt32)] = [
            (0, 0, 2, 0),  // the block layer needs the data
            (4, 0, 1, 0),  // the root is not asked for
            (1, 8, 8, 0),  // past the piece layer's 8 nodes
            (1, 0, 16, 0),
            (1, 0, 8, 3),  // three proof layers from layer 1 reach the root
            (2, 0, 1, 2),
        ]
        for (base, index, length, proofs) in refused {
            let request = HashRequest(
                piecesRoot: root, baseLayer: base, index: index, length: length, proofLayers: proofs)
            #expect(throws: V2HashTree.Refusal.self) { try tree.answer(request) }
        }
    }

    /// A piece layer that does not hash to the root, or of the wrong length, makes no tree.
    @Test func aLayerThatDoesNotMatchItsRootMakesNoTree() throws {
        let (metainfo, _) = try Self.torrent(length: 220_000, pieceLength: 32_768)
        var (root, layer) = Self.file(metainfo)
        #expect(
            V2HashTree(piecesRoot: root, pieceLayer: layer.dropLast(32), fileLength: 220_000, pieceLength: 32_768)
                == nil)
        layer[5] ^= 1
        #expect(V2HashTree(piecesRoot: root, pieceLayer: layer[...], fileLength: 220_000, pieceLength: 32_768) == nil)
        root[0] ^= 1
        #expect(
            V2HashTree(
                piecesRoot: root, pieceLayer: Self.file(metainfo).layer[...], fileLength: 220_000, pieceLength: 32_768)
                == nil)
    }

    /// The server answers by root: hashes for a file longer than a piece, `hash reject` for a root
    /// that is no file's, for a one-piece file (its hashes need the data) and for a v1 torrent none.
    @Test func theServerAnswersByRoot() throws {
        let (metainfo, _, _) = try V2PieceRootsTests.make(.v2)
        var server = try #require(V2HashServer(metainfo: metainfo))
        let files = metainfo.files.indices.filter { !metainfo.files.isPad(at: $0) }.map { metainfo.files[$0] }
        let long = try #require(files.first { $0.displayPath.hasSuffix("d.bin") }?.piecesRoot)
        let short = try #require(files.first { $0.displayPath.hasSuffix("b.bin") }?.piecesRoot)
        let ask = { (root: [UInt8]) in HashRequest(piecesRoot: root, baseLayer: 1, index: 0, length: 4, proofLayers: 0)
        }
        let answer = server.answer(ask(long))
        #expect(answer.refusal == nil)
        #expect(answer.reply == .hashes(ask(long), hashes: metainfo.pieceLayers[long]!))
        for root in [short, [UInt8](repeating: 9, count: 32)] {
            let refused = server.answer(ask(root))
            #expect(refused.reply == .reject(ask(root)) && refused.refusal != nil)
        }
        let (v1, _, _) = try V2PieceRootsTests.make(.v1)
        #expect(V2HashServer(metainfo: v1) == nil)
    }
}
