import Engine
import Foundation
import Store
import Testing

@testable import btq

/// `btq list`'s table, written straight into byte buffers, lays lines out exactly as the general
/// ``Table`` does with the `String` formatters, whole or in parts.
@Suite(.timeLimit(.minutes(5))) struct ListRenderingTests {
    static let names = [
        "", "a", "plain.iso", String(repeating: "x", count: 60), String(repeating: "long-ascii-", count: 9),
        "café au lait", "日本語のファイル名", String(repeating: "é", count: 70), "🎬 movie (2026) [1080p]",
        String(repeating: "日本", count: 40),
    ]

    /// Lines covering every state, removed ones, unknown sizes, empty torrents, every size unit and
    /// ratios with and without downloads, from a fixed seed.
    static func lines(count: Int, seed: UInt64) -> [QueueLine] {
        var random = SeededRandom(seed: seed)
        func below(_ bound: UInt64) -> Int64 { Int64(random.next() % bound) }
        return (0..<count).map { index in
            let size: Int64?
            switch random.next() % 5 {
            case 0: size = nil
            case 1: size = 0
            default: size = below(1 << (random.next() % 62))
            }
            var done: Int64 = 0
            if let size, size > 0 { done = below(UInt64(size) + 1) }
            let state = TorrentState.allCases[Int(below(UInt64(TorrentState.allCases.count)))]
            let uploaded = random.next() % 3 == 0 ? 0 : below(1 << 40)
            let downloaded = random.next() % 3 == 0 ? 0 : below(1 << 40)
            return QueueLine(
                id: Int64(index + 1) * (1 + below(1000)), name: names[Int(below(UInt64(names.count)))],
                totalSize: size, bytesDone: done, state: state, isRemoved: random.next() % 7 == 0,
                uploaded: uploaded, downloaded: downloaded)
        }
    }

    /// The same lines through the general table.
    static func table(_ lines: [QueueLine]) -> [UInt8] {
        var table = Table([
            .init("ID", .right), .init("NAME", maxWidth: 60), .init("SIZE", .right), .init("DONE", .right),
            .init("STATE"), .init("RATIO", .right),
        ])
        for line in lines {
            table.append([
                String(line.id), line.name, line.totalSize.map(Formatting.size) ?? "?",
                Formatting.percent(line.progress),
                line.isRemoved ? "removed" : line.state.rawValue,
                Formatting.ratio(
                    uploaded: line.uploaded, downloaded: line.downloaded > 0 ? line.downloaded : line.bytesDone),
            ])
        }
        return table.renderBytes()
    }

    @Test(arguments: [0, 1, 7, 300])
    func theListIsTheGeneralTable(count: Int) {
        let lines = Self.lines(count: count, seed: UInt64(count))
        let listed = List.render(lines)
        #expect(String(decoding: listed, as: UTF8.self) == String(decoding: Self.table(lines), as: UTF8.self))
        #expect(listed.split(separator: 10).count == count + 1)
    }

    @Test func partsLaidOutAtOnceMakeTheWholeTable() {
        let lines = Self.lines(count: 120, seed: 42)
        let whole = List.render(lines)
        for cut in [0, 1, 59, 119, 120] {
            var first = ListPart()
            var second = ListPart()
            for line in lines[..<cut] { first.append(line) }
            for line in lines[cut...] { second.append(line) }
            #expect(Array(List.render([first, second]).joined()) == whole, "cut at \(cut)")
        }
    }

    /// Times are written as `String(format:)` would: ISO 8601 UTC with milliseconds, and local time.
    @Test func timesAreFormattedAsWithFormatStrings() {
        var random = SeededRandom(seed: 11)
        var seconds: [Double] = [0, -0.001, -1, 1_800_000_000.999, 253_402_300_799.5, -62_135_596_800]
        for _ in 0..<200 { seconds.append(Double(Int64(random.next() % (1 << 40)) - (1 << 39)) / 1000) }
        for value in seconds {
            let date = Date(timeIntervalSince1970: value)
            let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
            var time = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
            var parts = tm()
            gmtime_r(&time, &parts)
            let iso = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
                Int(((millis % 1000) + 1000) % 1000))
            #expect(Formatting.iso8601(date) == iso, "\(value)")
            var local = time_t(date.timeIntervalSince1970.rounded(.down))
            localtime_r(&local, &parts)
            let shown = String(
                format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
            #expect(Formatting.date(date) == shown, "\(value)")
        }
        #expect(Formatting.date(nil) == "-")
    }

    @Test func numbersAreFormattedAsBefore() {
        #expect(Formatting.size(0) == "0 B")
        #expect(Formatting.size(1023) == "1023 B")
        #expect(Formatting.size(1024) == "1.00 KiB")
        #expect(Formatting.size(1536) == "1.50 KiB")
        #expect(Formatting.size(11_219_763) == "10.7 MiB")
        #expect(Formatting.size(700 << 20) == "700 MiB")
        #expect(Formatting.size(1_288_490_189) == "1.20 GiB")
        #expect(Formatting.size(.max) == "8.00 EiB")
        #expect(Formatting.percent(0) == "0.0%")
        #expect(Formatting.percent(0.9999) == "99.9%")
        #expect(Formatting.percent(1) == "100.0%")
        #expect(Formatting.ratio(uploaded: 0, downloaded: 0) == "-")
        #expect(Formatting.ratio(uploaded: 5, downloaded: 0) == "inf")
        #expect(Formatting.ratio(uploaded: 1, downloaded: 3) == "0.33")
        #expect(Formatting.fixed(-2.5, digits: 1) == "-2.5")
    }
}

/// `btq list --json`, written straight into bytes, is byte for byte what `JSONEncoder` prints for the
/// same torrents (the layout docs/json.md documents).
@Suite(.timeLimit(.minutes(5))) struct ListJSONTests {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Formatting.iso8601(date))
        }
        return encoder
    }

    @Test func theListIsWhatJSONEncoderPrints() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try QueueCommandTests.makeTorrent(btq)
        #expect(try btq.run(["add", torrent, "--dir", btq.folder.appendingPathComponent("dl").path]).status == 0)
        let base = try #require(try BtqStore(path: btq.database).queries.torrents().first)
        var random = SeededRandom(seed: 7)
        var texts = ["", "plain", "quote \" backslash \\ slash /", "tab\tnew\nline\r\u{8}\u{c}", "é 日本 😀 \u{2028}"]
        texts.append(String(String.UnicodeScalarView((0..<32).map { Unicode.Scalar(UInt8($0)) })))
        let ratios = [0, 1, 0.5, 1.0 / 3, 1e-7, 123_456_789, 2.5e12]
        var torrents: [TorrentRecord] = []
        for index in 0..<40 {
            var record = base
            record.id = Int64(index) * 977
            record.name = texts[Int(random.next() % UInt64(texts.count))]
            record.comment = random.next() % 2 == 0 ? nil : texts[Int(random.next() % UInt64(texts.count))]
            record.createdBy = random.next() % 2 == 0 ? nil : "btq \(index)"
            record.totalSize = random.next() % 4 == 0 ? nil : Int64(random.next() % (1 << 50))
            record.bytesDone = Int64(random.next() % (1 << 40))
            record.uploaded = Int64(ratios[index % ratios.count] * 1000)
            record.downloaded = 1000
            record.state = TorrentState.allCases[index % TorrentState.allCases.count]
            record.isPrivate = index % 3 == 0
            record.startedAt = index % 2 == 0 ? nil : Date(timeIntervalSince1970: Double(random.next() % (1 << 32)) / 7)
            record.removedAt = index % 5 == 0 ? Date(timeIntervalSince1970: 1_800_000_000.123) : nil
            record.lastError = index % 7 == 0 ? "disk full: \"/x\"" : nil
            torrents.append(record)
        }
        for count in [0, 1, torrents.count] {
            let slice = Array(torrents.prefix(count))
            let expected = try Self.encoder().encode(slice.map(TorrentJSON.init)) + Data("\n".utf8)
            #expect(String(decoding: List.json(slice), as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        }
    }
}
