import Engine
import Store
import Testing

@testable import btq

/// `btq list`'s table, written straight into byte buffers, lays lines out exactly as the general
/// ``Table`` does with the `String` formatters, whole or in parts.
@Suite struct ListRenderingTests {
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
