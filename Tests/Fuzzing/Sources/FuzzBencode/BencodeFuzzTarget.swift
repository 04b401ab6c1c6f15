import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    BencodeFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes ``BencodeDecoder``: the strict, lenient, tightly limited, sealing (``BencodeDecoder/tapeDepth``)
/// and looking-ahead (``BencodeDecoder/lookAheadTokens``) decoders must agree with one another, and a
/// strictly decoded input must encode back to exactly its bytes.
@main
enum BencodeFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static let strict = BencodeDecoder()
    static let lenient = BencodeDecoder(keyOrder: .lenient)
    static let tight = BencodeDecoder(
        limits: .init(maxDepth: 4, maxElements: 64, maxStringLength: 64, maxInputLength: 4096), keyOrder: .strict)

    /// Decoders that seal containers below depth 1, 2 and 3: they must read exactly what the lenient
    /// decoder reads, and fail with the same error.
    static let sealing = [1, 2, 3].map { BencodeDecoder(keyOrder: .lenient, tapeDepth: $0) }

    /// Decoders that check the rest of the input ahead after two tokens (``BencodeDecoder/lookAheadTokens``):
    /// each must give exactly what the same decoder gives without (the same tokens, or the same error).
    static let lookingAhead = [strict, lenient, tight, sealing[0], sealing[2]].map { decoder in
        var ahead = decoder
        ahead.lookAheadTokens = 2
        return (plain: decoder, ahead: ahead)
    }

    static func run(_ bytes: [UInt8]) {
        let strictResult = decode(bytes, with: strict)
        let lenientResult = decode(bytes, with: lenient)
        switch (strictResult, lenientResult) {
        case (.success(let node), .success(let loose)):
            FuzzCheck.require(node.isCanonical, "a strictly decoded value is canonical")
            FuzzCheck.require(node.span == 0..<bytes.count, "a decoded value spans the whole input")
            FuzzCheck.require(loose.span == node.span && loose.isCanonical, "the lenient decoder agrees")
            FuzzCheck.require(node.plainValue.encoded == bytes, "decoding then encoding gives back the input")
        case (.failure(let error), .success(let loose)):
            FuzzCheck.require(!loose.isCanonical, "only key order separates the lenient decoder: \(error)")
            FuzzCheck.require(
                error.code == .unsortedKeys || error.code == .duplicateKey, "the strict decoder refused \(error)")
        case (.success, .failure(let error)):
            FuzzCheck.require(false, "the lenient decoder refused what the strict one accepted: \(error)")
        case (.failure(let error), .failure(let other)):
            FuzzCheck.require(error.offset >= 0 && error.offset <= bytes.count, "error offset inside the input")
            FuzzCheck.require(other.offset >= 0 && other.offset <= bytes.count, "error offset inside the input")
        }
        if case .success(let node) = decode(bytes, with: tight) {
            FuzzCheck.require(node.isCanonical, "the tight decoder accepted a non-canonical value")
            if case .failure(let error) = strictResult {
                FuzzCheck.require(false, "the tight decoder accepted what the default one refused: \(error)")
            }
        }
        for decoder in sealing {
            switch (lenientResult, decode(bytes, with: decoder)) {
            case (.success(let full), .success(let sealed)):
                FuzzCheck.require(
                    sealed.span == full.span && sealed.isCanonical == full.isCanonical, "a sealing decoder agrees")
                FuzzCheck.require(sealed.plainValue == full.plainValue, "a sealing decoder reads the same values")
            case (.failure(let error), .failure(let other)):
                FuzzCheck.require(
                    error.code == other.code && error.offset == other.offset, "a sealing decoder fails the same way")
            default:
                FuzzCheck.require(false, "sealing changed whether the input decodes")
            }
        }
        for (plain, ahead) in lookingAhead {
            switch (decode(bytes, with: plain), decode(bytes, with: ahead)) {
            case (.success(let node), .success(let other)):
                FuzzCheck.require(
                    other.span == node.span && other.isCanonical == node.isCanonical
                        && other.plainValue == node.plainValue, "looking ahead reads the same values")
            case (.failure(let error), .failure(let other)):
                FuzzCheck.require(error == other, "looking ahead fails the same way: \(error), \(other)")
            default:
                FuzzCheck.require(false, "looking ahead changed whether the input decodes")
            }
        }
        if let node = try? lenient.decodePrefix(bytes) {
            FuzzCheck.require(
                node.span.lowerBound == 0 && node.span.upperBound <= bytes.count, "a prefix lies inside the input")
            FuzzCheck.require(
                (try? lenient.decode(bytes[..<node.span.upperBound])) != nil, "a decoded prefix decodes on its own")
        }
    }

    static func decode(_ bytes: [UInt8], with decoder: BencodeDecoder) -> Result<BencodeNode, BencodeError> {
        Result { () throws(BencodeError) in try decoder.decode(bytes) }
    }
}
