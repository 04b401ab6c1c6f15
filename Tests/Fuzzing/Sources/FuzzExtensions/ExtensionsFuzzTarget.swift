import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ExtensionsFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes the extension protocol's payload decoders (BEP 10 handshake, BEP 9 `ut_metadata`, BEP 11
/// `ut_pex`) on the same bytes. Each either throws its typed error or gives a value that encodes to
/// a payload decoding back to the same value.
@main
enum ExtensionsFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ payload: [UInt8]) {
        if let handshake = try? ExtensionHandshake(decoding: payload) {
            FuzzCheck.require(handshake.extensions.count <= ExtensionHandshake.maxExtensions, "bounded extensions")
            FuzzCheck.require(
                (handshake.clientName?.count ?? 0) <= ExtensionHandshake.maxClientNameLength, "bounded client name")
            FuzzCheck.require(
                handshake.clientName?.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } ?? true,
                "no control characters in the client name")
            let again = try? ExtensionHandshake(decoding: handshake.encoded())
            FuzzCheck.require(again == handshake, "the handshake survives a round trip: \(handshake)")
        }
        do {
            if let message = try MetadataMessage.decode(payload) {
                FuzzCheck.require(payload.count <= MetadataMessage.maxMessageLength, "bounded metadata message")
                let again = try MetadataMessage.decode(message.encoded())
                FuzzCheck.require(again == message, "the metadata message survives a round trip: \(message)")
            }
        } catch {
            // A typed refusal (the signature says so); what matters is that it did not crash.
        }
        if let pex = try? PexMessage(decoding: payload) {
            FuzzCheck.require(pex.added.count <= PexMessage.maxPeers, "bounded added peers")
            FuzzCheck.require(pex.dropped.count <= PexMessage.maxPeers, "bounded dropped peers")
            FuzzCheck.require(pex.added.allSatisfy { $0.address.isUsablePeer }, "only usable peers are added")
            let again = try? PexMessage(decoding: pex.encoded())
            FuzzCheck.require(again == pex, "the peer exchange message survives a round trip: \(pex)")
        }
    }
}
