import Foundation

/// Flat JSON objects written straight into bytes, laid out exactly as ``JSONOutput`` prints them with
/// `JSONEncoder` (pretty-printed, keys sorted, slashes unescaped): `btq list --json` of 100,000 torrents
/// took over 5 s through `JSONEncoder`.
enum JSONText {
    /// A scalar field value.
    enum Value {
        case null
        case string(String)
        case integer(Int64)
        case number(Double)
        case bool(Bool)

        init(_ text: String?) { self = text.map(Value.string) ?? .null }
        init(_ integer: Int64?) { self = integer.map(Value.integer) ?? .null }
        init(_ integer: Int?) { self = integer.map { .integer(Int64($0)) } ?? .null }
        init(_ date: Date?) { self = date.map { .string(Formatting.iso8601($0)) } ?? .null }
    }

    /// A JSON array of objects, each given as its fields, followed by a newline. Objects with the same keys
    /// in the same order (the usual case: one type) share one sorting of them.
    static func array(of objects: [[(key: String, value: Value)]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(objects.count * 1024)
        out.append(contentsOf: "[\n".utf8)
        var keys: [String] = []
        var order: [Int] = []
        for (index, fields) in objects.enumerated() {
            if index > 0 { out.append(contentsOf: ",\n".utf8) }
            if !fields.map(\.key).elementsEqual(keys) {
                keys = fields.map(\.key)
                order = keys.indices.sorted { keys[$0] < keys[$1] }
            }
            appendObject(order.map { fields[$0] }, indent: 2, to: &out)
        }
        out.append(contentsOf: "\n]\n".utf8)
        return out
    }

    /// An object at `indent` spaces, its fields in the order given, without a trailing newline.
    static func appendObject(_ fields: [(key: String, value: Value)], indent: Int, to out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(32, count: indent))
        out.append(UInt8(ascii: "{"))
        for (index, field) in fields.enumerated() {
            out.append(contentsOf: index == 0 ? "\n".utf8 : ",\n".utf8)
            out.append(contentsOf: repeatElement(32, count: indent + 2))
            appendString(field.key, to: &out)
            out.append(contentsOf: " : ".utf8)
            appendValue(field.value, to: &out)
        }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(32, count: indent))
        out.append(UInt8(ascii: "}"))
    }

    static func appendValue(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .string(let text): appendString(text, to: &out)
        case .integer(let integer): out.append(contentsOf: String(integer).utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number):
            // As JSONEncoder: the shortest round-trip form, without a trailing ".0".
            var text = number.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            out.append(contentsOf: text.utf8)
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\b \t \n \f \r` or `\u00xx` (DEL and
    /// the C1 controls too, which JSON allows raw but a terminal may obey), everything else (`/` and
    /// non-ASCII included) as is.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if !text.utf8.contains(where: {
            $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0x7F || $0 == 0xC2
        }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        for scalar in text.unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) {
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(scalar.value >> 4)])
                out.append(hex[Int(scalar.value & 0xF)])
                continue
            }
            guard scalar.isASCII else {
                out.append(contentsOf: String(scalar).utf8)
                continue
            }
            let byte = UInt8(scalar.value)
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x08: out.append(contentsOf: "\\b".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0C: out.append(contentsOf: "\\f".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
