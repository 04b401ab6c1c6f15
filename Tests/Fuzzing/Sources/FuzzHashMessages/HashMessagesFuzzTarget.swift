import Engine
import FuzzSupport
import NIOCore

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HashMessagesFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes ``HashMessage/init(id:payload:)`` (BEP 52 `hash request`, `hashes`, `hash reject`), the
/// answer to an accepted request (``V2HashTree/answer(_:)``, asked of a fixed file's tree; for the
/// block layer ``V2BlockLayerAnswer``, from a second file's leaves), and a `hashes` message taken as
/// the answer about a failed piece (``V2BlockCheck/answered(_:hashes:from:)``).
///
/// Input layout: one byte, the message id (any value, 21 to 23 most of the time), then the payload.
/// Oracles: only typed errors; an accepted message respects every bound (a valid request, at most
/// `length` plus `proof layers` hashes) and encodes back to exactly the payload, through the peer wire
/// too; its request, asked of the tree, is refused or answered with `length` hashes and at most
/// `proof layers` uncles, in a `hashes` message that decodes; a block-layer answer holds the file's
/// leaves and folds up to its root when its proof reaches the root; a `hashes` message settles a
/// failed piece only when its leaves are the true ones, and is a lie otherwise.
@main
enum HashMessagesFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    /// A file of 37 pieces of 16 KiB (a 64-node piece layer, 6 layers), its piece hashes made up.
    static let tree: V2HashTree = {
        let layer = (0..<37 * 32).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let root = MerkleTree.root(ofPieceLayer: layer, pieceLength: 16_384)
        return V2HashTree(piecesRoot: root, pieceLayer: layer[...], fileLength: 37 * 16_384 - 100, pieceLength: 16_384)!
    }()

    /// A file of 9 pieces of 64 KiB (4 leaves each; 35 blocks, so the last leaf is padding), its
    /// leaves made up, and its tree above the piece layer.
    static let leaves: [UInt8] = (0..<36 * 32).map { $0 >= 35 * 32 ? 0 : UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    static let blockTree: V2HashTree = {
        let zero = MerkleTree.paddingHash(levels: 0)
        var layer: [UInt8] = []
        for piece in 0..<9 { layer += MerkleTree.root(ofLayer: leaves[piece * 128..<piece * 128 + 128], padding: zero) }
        let root = MerkleTree.root(ofPieceLayer: layer, pieceLength: 65_536)
        return V2HashTree(piecesRoot: root, pieceLayer: layer[...], fileLength: 35 * 16_384 - 7, pieceLength: 65_536)!
    }()

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let id = first < 240 ? HashMessage.requestID + first % 3 : first
        let payload = Array(bytes.dropFirst())
        let message: HashMessage
        do {
            message = try HashMessage(id: id, payload: ByteBuffer(bytes: payload))
        } catch {
            return  // a HashMessageError: the only error it may throw (typed throws)
        }
        FuzzCheck.require(HashMessage.handles(id), "only ids 21 to 23 decode")
        FuzzCheck.require(message.id == id, "the message keeps its id")
        let request = message.request
        FuzzCheck.require((try? request.validate()) != nil, "an accepted request is within bounds")
        if case .hashes(_, let hashes) = message {
            FuzzCheck.require(
                hashes.count % 32 == 0 && hashes.count / 32 <= Int(request.length) + Int(request.proofLayers),
                "the hashes are whole and no more than asked for")
        }
        FuzzCheck.require(Array(message.payload.readableBytesView) == payload, "it encodes back to its payload")
        var wire = ByteBuffer()
        wire.writePeerMessage(message.peerMessage)
        guard case .unknown(let wireID, let wirePayload)? = try? wire.readPeerMessage(maxFrameLength: 1 << 20) else {
            FuzzCheck.require(false, "the encoded message is one peer wire frame")
            return
        }
        FuzzCheck.require(
            (try? HashMessage(id: wireID, payload: wirePayload)) == message, "the wire round trip keeps it")
        answer(request)
        answerFromLeaves(request)
        if case .hashes(_, let hashes) = message { settle(request, hashes) }
    }

    /// Asks the second file's block layer for what `request` asks (base layer 0), from its leaves.
    static func answerFromLeaves(_ request: HashRequest) {
        var request = request
        request.piecesRoot = blockTree.piecesRoot
        request.baseLayer = 0
        let plan: V2BlockLayerAnswer
        let hashes: [UInt8]
        do {
            plan = try V2BlockLayerAnswer(request, tree: blockTree, firstPiece: 0, pieceCount: 9)
            FuzzCheck.require(
                plan.pieces.lowerBound >= 0 && plan.pieces.upperBound <= 9, "only the file's pieces are read")
            hashes = try plan.answer(leaves: Array(leaves[plan.pieces.lowerBound * 128..<plan.pieces.upperBound * 128]))
        } catch {
            return  // a V2HashTree.Refusal: the peer gets a hash reject
        }
        let index = Int(request.index)
        let length = Int(request.length)
        FuzzCheck.require(
            hashes.count / 32 >= length && hashes.count / 32 <= length + Int(request.proofLayers),
            "a block-layer answer holds the leaves asked for and at most one uncle a proof layer")
        let padded = leaves + [UInt8](repeating: 0, count: 64 * 32 - leaves.count)
        FuzzCheck.require(
            hashes[0..<length * 32].elementsEqual(padded[index * 32..<(index + length) * 32]),
            "the leaves are the file's")
        let k = length.trailingZeroBitCount
        let top = k == 0 ? Int(request.proofLayers) - 1 : Int(request.proofLayers)
        guard top == blockTree.layerCount - 1 || k == blockTree.layerCount else { return }
        var node = MerkleTree.root(ofLayer: hashes[0..<length * 32], padding: MerkleTree.paddingHash(levels: 0))
        var position = index >> k
        for offset in stride(from: length * 32, to: hashes.count, by: 32) {
            let uncle = Array(hashes[offset..<offset + 32])
            let pair = position % 2 == 0 ? node + uncle : uncle + node
            node = MerkleTree.root(ofLayer: pair, padding: MerkleTree.paddingHash(levels: 0))
            position /= 2
        }
        FuzzCheck.require(node == blockTree.piecesRoot, "an answer whose proof reaches the root folds to it")
    }

    /// Takes `hashes` as the answer about a failed piece of the second file whose leaves `request`
    /// (moved into the file) asks for.
    static func settle(_ request: HashRequest, _ hashes: [UInt8]) {
        var request = request
        request.baseLayer = 0
        request.proofLayers = 0
        guard Int(request.index) + Int(request.length) <= 36 else { return }
        let range = Int(request.index) * 32..<(Int(request.index) + Int(request.length)) * 32
        let expected = MerkleTree.root(ofLayer: leaves[range], padding: MerkleTree.paddingHash(levels: 0))
        var check = V2BlockCheck()
        let piece = PieceIndex(0)
        let received = [UInt8](repeating: 1, count: Int(request.length) * 32)
        let failed = V2BlockCheck.Failed(
            request: request, expected: expected, received: received, dataLength: Int(request.length) * 16_384,
            senders: [:], digests: [])
        FuzzCheck.require(check.watch(piece, failed), "an empty check watches a piece")
        check.asked(piece, key: 1, address: PeerAddress(host: .ipv4(127, 0, 0, 1), port: 1), now: .now)
        switch check.answered(request, hashes: hashes, from: 1) {
        case .ignored:
            FuzzCheck.require(false, "the answer to the request out is not ignored")
        case .lie:
            FuzzCheck.require(
                hashes.count < range.count || !hashes[0..<range.count].elementsEqual(leaves[range]),
                "the true leaves are no lie")
        case .verdict(_, let verdict):
            FuzzCheck.require(hashes[0..<range.count].elementsEqual(leaves[range]), "only the true leaves settle it")
            FuzzCheck.require(verdict.badBlocks.count == Int(request.length), "every received block differs")
        }
    }

    /// Asks the tree for what `request` asks of its file.
    static func answer(_ request: HashRequest) {
        var request = request
        request.piecesRoot = tree.piecesRoot
        let hashes: [UInt8]
        do {
            hashes = try tree.answer(request)
        } catch {
            return  // a V2HashTree.Refusal: the peer gets a hash reject
        }
        FuzzCheck.require(
            hashes.count % 32 == 0 && hashes.count / 32 >= Int(request.length)
                && hashes.count / 32 <= Int(request.length) + Int(request.proofLayers),
            "an answer holds the hashes asked for and at most one uncle a proof layer")
        let reply = HashMessage.hashes(request, hashes: hashes)
        FuzzCheck.require(
            (try? HashMessage(id: HashMessage.hashesID, payload: reply.payload)) == reply, "the answer decodes")
    }
}
