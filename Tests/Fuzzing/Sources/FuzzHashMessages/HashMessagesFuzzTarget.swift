import Engine
import FuzzSupport
import NIOCore

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HashMessagesFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes ``HashMessage/init(id:payload:)`` (BEP 52 `hash request`, `hashes`, `hash reject`) and
/// the answer to an accepted request (``V2HashTree/answer(_:)``, asked of a fixed file's tree).
///
/// Input layout: one byte, the message id (any value, 21 to 23 most of the time), then the payload.
/// Oracles: only typed errors; an accepted message respects every bound (a valid request, at most
/// `length` plus `proof layers` hashes) and encodes back to exactly the payload, through the peer wire
/// too; its request, asked of the tree, is refused or answered with `length` hashes and at most
/// `proof layers` uncles, in a `hashes` message that decodes.
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
