import Foundation

/// The times `--since` accepts: a local date `YYYY-MM-DD`, a local time `YYYY-MM-DDTHH:MM[:SS]`, or an age
/// back from now such as `30m`, `2h`, `3d` (also `s` seconds and `w` weeks).
enum DateArgument {
    /// The accepted forms, for help and error messages.
    static let forms = "YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (local time) or an age like 30m, 2h, 3d"

    /// The moment `text` names, or `nil` when it is not one of the accepted forms (or not a real date).
    static func parse(_ text: String, now: Date = Date()) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let age = relative(text) { return now.addingTimeInterval(-age) }
        return absolute(text)
    }

    private static func relative(_ text: String) -> TimeInterval? {
        guard let unit = text.last, text.count >= 2 else { return nil }
        let digits = text.dropLast()
        guard digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(digits) else {
            return nil
        }
        let seconds: Int
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3_600
        case "d": seconds = 86_400
        case "w": seconds = 604_800
        default: return nil
        }
        return TimeInterval(count * seconds)
    }

    private static func absolute(_ text: String) -> Date? {
        let parts = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count <= 2, let date = numbers(parts[0], separator: "-", widths: [4, 2, 2]) else { return nil }
        var time = [0, 0, 0]
        if parts.count == 2 {
            if let hm = numbers(parts[1], separator: ":", widths: [2, 2]) {
                time = hm + [0]
            } else if let hms = numbers(parts[1], separator: ":", widths: [2, 2, 2]) {
                time = hms
            } else {
                return nil
            }
        }
        var fields = tm()
        fields.tm_year = Int32(date[0] - 1900)
        fields.tm_mon = Int32(date[1] - 1)
        fields.tm_mday = Int32(date[2])
        fields.tm_hour = Int32(time[0])
        fields.tm_min = Int32(time[1])
        fields.tm_sec = Int32(time[2])
        fields.tm_isdst = -1
        let wanted = fields
        let seconds = mktime(&fields)
        // mktime normalizes out-of-range fields (February 30th becomes March 2nd): refuse those.
        guard seconds != -1 || wanted.tm_year == 69,
            fields.tm_year == wanted.tm_year, fields.tm_mon == wanted.tm_mon, fields.tm_mday == wanted.tm_mday,
            time[0] < 24, time[1] < 60, time[2] < 60
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// `text` as numbers of exactly `widths` ASCII digits joined by `separator`.
    private static func numbers(_ text: Substring, separator: Character, widths: [Int]) -> [Int]? {
        let fields = text.split(separator: separator, omittingEmptySubsequences: false)
        guard fields.count == widths.count else { return nil }
        var result: [Int] = []
        for (field, width) in zip(fields, widths) {
            guard field.count == width, field.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(field) else {
                return nil
            }
            result.append(value)
        }
        return result
    }
}
