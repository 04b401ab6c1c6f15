import Engine
import FuzzSupport
import NIOCore

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HashMessagesFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes ``HashMessage/init(id:payload:)`` (BEP 52 `hash request`, `hashes`, `hash reject`).
///
/// Input layout: one byte, the message id (any value, 21 to 23 most of the time), then the payload.
/// Oracles: only typed errors; an accepted message respects every bound (a valid request, at most
/// `length` plus `proof layers` hashes) and encodes back to exactly the payload, through the peer wire
/// too.
@main
enum HashMessagesFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

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
    }
}
