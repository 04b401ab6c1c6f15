import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    KRPCFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes ``KRPCMessage/init(decoding:)`` on one UDP payload: it throws only ``KRPCError``, what it
/// reads stays within the caps, and an accepted message encodes to a packet that decodes to the
/// same message.
@main
enum KRPCFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ bytes: [UInt8]) {
        let message: KRPCMessage
        do {
            message = try KRPCMessage(decoding: bytes)
        } catch {
            return
        }
        FuzzCheck.require(message.transaction.count <= KRPCMessage.Limits.maxTransaction, "transaction over its cap")
        if case .response(let response) = message.body {
            FuzzCheck.require(response.nodes.count <= KRPCMessage.Limits.maxNodes, "nodes over their cap")
            FuzzCheck.require(response.nodes6.count <= KRPCMessage.Limits.maxNodes, "nodes6 over their cap")
            FuzzCheck.require(response.values.count <= KRPCMessage.Limits.maxValues, "values over their cap")
        }
        let encoded = message.encoded
        guard encoded.count <= KRPCMessage.Limits.maxPacket else { return }
        do {
            let again = try KRPCMessage(decoding: encoded)
            FuzzCheck.require(again == message, "the encoded message decodes to another one")
        } catch {
            FuzzCheck.require(false, "the encoded message does not decode: \(error)")
        }
    }
}
