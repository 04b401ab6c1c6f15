import Foundation

/// The text forms of settings and options beyond plain integers: rates, ratios, durations, addresses.
public enum SettingText {
    /// Bytes per second from `2M`, `512K`, `1.5MiB`, `300000` (suffixes K, M, G are powers of 1024;
    /// a trailing `B`, `iB` or `/s` is allowed). `0` means no limit. `nil` when unreadable or negative.
    public static func rate(_ text: String) -> Int64? {
        var body = text.trimmingCharacters(in: .whitespaces).lowercased()
        if body.hasSuffix("/s") { body.removeLast(2) }
        if body.hasSuffix("ib") {
            body.removeLast(2)
        } else if body.hasSuffix("b") {
            body.removeLast()
        }
        var multiplier: Double = 1
        if let last = body.last, let power = ["k": 1, "m": 2, "g": 3][String(last)] {
            multiplier = pow(1024, Double(power))
            body.removeLast()
        }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(body),
            value.isFinite, value >= 0, value * multiplier < 1e15
        else { return nil }
        return Int64((value * multiplier).rounded())
    }

    /// Seconds from `3600`, `90s`, `30m`, `2h`, `7d`. `nil` when unreadable or negative.
    public static func duration(_ text: String) -> Int64? {
        var body = text.trimmingCharacters(in: .whitespaces).lowercased()
        var multiplier: Int64 = 1
        if let last = body.last, let unit = ["s": 1, "m": 60, "h": 3600, "d": 86400][String(last)] {
            multiplier = Int64(unit)
            body.removeLast()
        }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(body),
            value < Int64.max / multiplier
        else { return nil }
        return value * multiplier
    }

    /// A ratio such as `2`, `1.5`, `0` (no limit). `nil` when unreadable or negative.
    public static func ratio(_ text: String) -> Double? {
        let body = text.trimmingCharacters(in: .whitespaces)
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(body),
            value.isFinite, value >= 0, value <= 1e6
        else { return nil }
        return value
    }

    /// `text` when it is a numeric IPv4 or IPv6 address.
    public static func ipAddress(_ text: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1 { return text }
        return nil
    }
    /// `on`/`off` and their usual spellings (`true`, `yes`, `1`; `false`, `no`, `0`), any case.
    public static func boolean(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "on", "true", "yes": return true
        case "0", "off", "false", "no": return false
        default: return nil
        }
    }

    /// A list separated by commas or white space, without empty items (an empty text: none).
    public static func list(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }
}
