/// Writes canonical bencode: dictionary keys in increasing byte order, integers without leading
/// zeros, string lengths in decimal.
public struct BencodeEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The encoding of `value`.
    public func encode(_ value: BencodeValue) -> [UInt8] {
        var out: [UInt8] = []
        encode(value, into: &out)
        return out
    }

    /// Appends the encoding of `value` to `out`.
    public func encode(_ value: BencodeValue, into out: inout [UInt8]) {
        switch value {
        case .integer(let number):
            out.append(UInt8(ascii: "i"))
            out.append(contentsOf: String(number).utf8)
            out.append(UInt8(ascii: "e"))
        case .string(let bytes):
            appendString(bytes, into: &out)
        case .list(let items):
            out.append(UInt8(ascii: "l"))
            for item in items { encode(item, into: &out) }
            out.append(UInt8(ascii: "e"))
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "d"))
            for key in dictionary.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                appendString(key, into: &out)
                encode(dictionary[key]!, into: &out)
            }
            out.append(UInt8(ascii: "e"))
        }
    }

    private func appendString(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: String(bytes.count).utf8)
        out.append(UInt8(ascii: ":"))
        out.append(contentsOf: bytes)
    }
}
