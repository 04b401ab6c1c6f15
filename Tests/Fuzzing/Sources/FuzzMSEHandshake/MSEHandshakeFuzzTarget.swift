import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    MSEHandshakeFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes the answering side of the MSE/PE handshake (``MSEHandshake/responder(infoHashes:methods:plaintextAllowed:keys:padding:)``),
/// the one any address on the internet can reach.
///
/// Input layout: a mode byte, a chunk byte (the stream is fed in reads of 1 + chunk bytes), then the
/// stream. Mode bit 0: the stream is raw bytes from the initiator. Mode bit 0 clear: the target writes
/// a real step 1 and the hashes of step 3 itself (with a fixed key and a known torrent), and the
/// stream is the plaintext of the encrypted fields that follow (VC, crypto_provide, PadC, IA and what
/// comes after), which the target encrypts, so the fuzzer reaches the negotiation. Bit 1: plaintext
/// handshakes allowed; bit 2: RC4 only.
/// Oracles: only typed errors (typed throws), the bytes held bounded after every read, nothing
/// accepted after a refusal, an encrypted outcome names the known torrent.
@main
enum MSEHandshakeFuzzTarget {
    static let infoHash = [UInt8](repeating: 0x5C, count: 20)
    static let responderKeys = MSEKeys(privateKey: [UInt8](repeating: 0x21, count: 20))
    static let initiatorKeys = MSEKeys(privateKey: [UInt8](repeating: 0x7E, count: 20))
    /// The initiator's side of the fixed key exchange, computed once (an exponentiation is most of an
    /// execution's time).
    static let fixedSecret = try? initiatorKeys.sharedSecret(with: responderKeys.publicKey)

    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let mode = bytes[0]
        let chunk = 1 + Int(bytes[1])
        var stream = Array(bytes.dropFirst(2))
        if mode & 1 == 0 {
            guard let secret = fixedSecret else {
                FuzzCheck.require(false, "the fixed keys agree")
                return
            }
            var cipher = MSEKeys.cipher("keyA", secret: secret, skey: infoHash)
            cipher.apply(&stream)
            stream =
                initiatorKeys.publicKey + MSEKeys.hash(Array("req1".utf8), secret)
                + zip(MSEKeys.hash(Array("req2".utf8), infoHash), MSEKeys.hash(Array("req3".utf8), secret)).map {
                    $0 ^ $1
                } + stream
        }
        let methods: MSEMethods = mode & 4 != 0 ? .rc4 : [.plaintext, .rc4]
        var machine = MSEHandshake.responder(
            infoHashes: { [[UInt8](repeating: 1, count: 20), infoHash] }, methods: methods,
            plaintextAllowed: mode & 2 != 0, keys: responderKeys, padding: { 0 })
        var none: [UInt8] = []
        var offset = 0
        while offset < stream.count {
            let read = Array(stream[offset..<min(stream.count, offset + chunk)])
            offset += read.count
            do {
                let step = try machine.receive(read, pending: &none)
                FuzzCheck.require(
                    machine.bufferedByteCount <= 532 + 20 + 14 + 514 + MSEHandshake.maxInitialPayload + chunk,
                    "what is held stays bounded")
                if let outcome = step.outcome {
                    if outcome.security == .plain {
                        FuzzCheck.require(mode & 2 != 0, "plaintext only when allowed")
                    } else {
                        FuzzCheck.require(outcome.infoHash == infoHash, "an encrypted outcome names the torrent")
                        FuzzCheck.require(
                            outcome.security != .plaintextMSE || methods.contains(.plaintext), "as allowed")
                        FuzzCheck.require(outcome.received.count <= MSEHandshake.maxInitialPayload + chunk, "bounded")
                    }
                    return
                }
            } catch {
                FuzzCheck.require(machine.isFinished && machine.bufferedByteCount == 0, "a refusal ends it")
                return
            }
        }
    }
}
