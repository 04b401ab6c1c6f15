import Foundation

/// Writes values as the stable JSON documented in docs/json.md: snake_case keys, sorted, UTC
/// ISO 8601 times with milliseconds, absent optional values as `null`.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Formatting.iso8601(date))
        }
        let data = escapingControls(try encoder.encode(value))
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// `json` with DEL and the C1 controls (U+0080 to U+009F) written as `\u00xx`, as ``JSONText`` writes
    /// them: `JSONEncoder` escapes only the C0 controls, and a terminal may obey the others. (They can
    /// only occur inside strings, so replacing their UTF-8 bytes is safe.)
    static func escapingControls(_ json: Data) -> Data {
        guard json.contains(where: { $0 == 0x7F || $0 == 0xC2 }) else { return json }
        let hex = Array("0123456789abcdef".utf8)
        var out = Data()
        out.reserveCapacity(json.count + 64)
        let bytes = [UInt8](json)
        var index = 0
        while index < bytes.count {
            var control: UInt8?
            if bytes[index] == 0x7F {
                control = 0x7F
            } else if bytes[index] == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                control = bytes[index + 1]
                index += 1
            }
            if let control {
                out.append(contentsOf: Array("\\u00".utf8) + [hex[Int(control >> 4)], hex[Int(control & 0xF)]])
            } else {
                out.append(bytes[index])
            }
            index += 1
        }
        return out
    }
}
