import Engine
import Foundation
import Store

/// Human formatting of sizes, rates, ratios and times.
enum Formatting {
    /// Binary units, 3 significant digits: `0 B`, `512 B`, `1.50 KiB`, `700 MiB`, `1.20 GiB`.
    static func size(_ bytes: Int64) -> String {
        string { appendSize(bytes, to: &$0) }
    }

    /// ``size(_:)`` appended to `out` as UTF-8 (`btq list` formats hundreds of thousands of these).
    static func appendSize(_ bytes: Int64, to out: inout [UInt8]) {
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < sizeUnits.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 {
            appendFixed(Double(bytes), digits: 0, to: &out)
        } else {
            appendFixed(value, digits: value >= 100 ? 0 : value >= 10 ? 1 : 2, to: &out)
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: sizeUnits[unit])
    }

    private static let sizeUnits: [[UInt8]] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"].map { Array($0.utf8) }

    /// `value` rounded to `digits` decimals (0 to 3), without Foundation's slow `String(format:)`.
    static func fixed(_ value: Double, digits: Int) -> String {
        string { appendFixed(value, digits: digits, to: &$0) }
    }

    /// ``fixed(_:digits:)`` appended to `out` as UTF-8, without intermediate strings.
    static func appendFixed(_ value: Double, digits: Int, to out: inout [UInt8]) {
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let product = (value * Double(scale)).rounded()
        // Beyond Int64 (a ratio of a damaged record, say) the value is not worth its digits.
        guard product.isFinite, product.magnitude < 9e18 else {
            out.append(contentsOf: (product.isNaN ? "nan" : product < 0 ? "-inf" : "inf").utf8)
            return
        }
        let scaled = Int64(product)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var start = buffer.count
            var rest = scaled.magnitude
            var produced = 0
            repeat {
                if digits > 0, produced == digits {
                    start -= 1
                    buffer[start] = UInt8(ascii: ".")
                }
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                produced += 1
            } while rest > 0 || produced <= digits
            if scaled < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            out.append(contentsOf: UnsafeMutableBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// Percent with one decimal, never rounding an incomplete torrent up to 100.0%.
    static func percent(_ fraction: Double) -> String {
        string { appendPercent(fraction, to: &$0) }
    }

    /// ``percent(_:)`` appended to `out` as UTF-8.
    static func appendPercent(_ fraction: Double, to out: inout [UInt8]) {
        let clamped = min(max(fraction, 0), 1)
        var tenths = (clamped * 1000).rounded(.down)
        if clamped < 1, tenths >= 1000 { tenths = 999 }
        appendFixed(tenths / 10, digits: 1, to: &out)
        out.append(UInt8(ascii: "%"))
    }

    /// The text `append` writes, as a `String`.
    private static func string(_ append: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        append(&out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A torrent's share ratio (see `TorrentRecord.ratio`: a torrent seeded from data already in place
    /// counts its verified bytes as the base), or `-` when it has neither.
    static func ratio(_ record: TorrentRecord) -> String {
        ratio(uploaded: record.uploaded, downloaded: record.downloaded > 0 ? record.downloaded : record.bytesDone)
    }

    /// A ratio with two decimals, or `-` when nothing was downloaded.
    static func ratio(uploaded: Int64, downloaded: Int64) -> String {
        string { appendRatio(uploaded: uploaded, downloaded: downloaded, to: &$0) }
    }

    /// ``ratio(uploaded:downloaded:)`` appended to `out` as UTF-8.
    static func appendRatio(uploaded: Int64, downloaded: Int64, to out: inout [UInt8]) {
        guard downloaded > 0 else {
            if uploaded > 0 { out.append(contentsOf: "inf".utf8) } else { out.append(UInt8(ascii: "-")) }
            return
        }
        appendFixed(Double(uploaded) / Double(downloaded), digits: 2, to: &out)
    }

    /// Local time as `2026-11-27 14:03:05`.
    static func date(_ date: Date?) -> String {
        guard let date, let seconds = representable(date) else { return "-" }
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        return string { appendDateTime(parts, separator: " ", to: &$0) }
    }

    /// How long before `now` `date` was, in its largest whole unit: `12 s ago`, `5 min ago`, `3 h ago`,
    /// `2 d ago` (`in 5 s` for a date after `now`, a clock set back).
    static func age(of date: Date, now: Date) -> String {
        let seconds = now.timeIntervalSince(date)
        guard seconds.isFinite else { return "-" }
        let whole = Int64(min(seconds.magnitude, 9e15).rounded(.down))
        let span =
            switch whole {
            case ..<60: "\(whole) s"
            case ..<3600: "\(whole / 60) min"
            case ..<86400: "\(whole / 3600) h"
            default: "\(whole / 86400) d"
            }
        return seconds <= -1 ? "in \(span)" : "\(span) ago"
    }

    /// UTC time in ISO 8601 with milliseconds, as JSON output carries it.
    static func iso8601(_ date: Date) -> String {
        let interval = min(max(date.timeIntervalSince1970, earliest), latest + 0.999)
        let millis = Int64(((interval.isNaN ? 0 : interval) * 1000).rounded(.down))
        var time = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        return string { out in
            appendDateTime(parts, separator: "T", to: &out)
            out.append(UInt8(ascii: "."))
            appendPadded(Int(((millis % 1000) + 1000) % 1000), width: 3, to: &out)
            out.append(UInt8(ascii: "Z"))
        }
    }

    /// The first second of year 1 and the last of year 9999: dates outside are not shown.
    private static let earliest: TimeInterval = -62_135_596_800
    private static let latest: TimeInterval = 253_402_300_799

    /// `date` in whole seconds since 1970, or `nil` outside years 1 to 9999 (a creation date of a
    /// hostile `.torrent`, say).
    private static func representable(_ date: Date) -> Int64? {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds >= earliest, seconds <= latest else { return nil }
        return Int64(seconds)
    }

    /// `YYYY-MM-DD<separator>hh:mm:ss` of broken-down time (without `String(format:)`, which took a
    /// quarter of `btq list --json`).
    private static func appendDateTime(_ parts: tm, separator: Character, to out: inout [UInt8]) {
        appendPadded(Int(parts.tm_year) + 1900, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(Int(parts.tm_mon) + 1, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(Int(parts.tm_mday), width: 2, to: &out)
        out.append(separator.asciiValue!)
        appendPadded(Int(parts.tm_hour), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(Int(parts.tm_min), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(Int(parts.tm_sec), width: 2, to: &out)
    }

    /// `value` in decimal, zero-padded to at least `width` digits (as `%0*d`).
    static func appendPadded(_ value: Int, width: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let digits = Array(String(value.magnitude).utf8)
        let padding = max(0, width - (value < 0 ? 1 : 0) - digits.count)
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: padding))
        out.append(contentsOf: digits)
    }
}
