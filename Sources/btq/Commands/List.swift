import ArgumentParser
import Engine
import Foundation
import Store

/// `btq list`: the queue, in queue order.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the queue.",
        aliases: ["ls"]
    )

    @OptionGroup var store: StoreOptions

    @Flag(name: .long, help: "Include removed torrents (kept for their history until purged).")
    var all = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only torrents in this state: \(TorrentState.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "state"))
    var state: String?

    @Flag(name: .long, help: "Print JSON (see docs/json.md).")
    var json = false

    func validate() throws {
        if let state, TorrentState(rawValue: state) == nil {
            throw ValidationError(
                "Unknown state '\(state)'; one of \(TorrentState.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() throws {
        let filter = state.flatMap(TorrentState.init(rawValue:))
        let database = try store.openStore()
        if json {
            let torrents = try database.torrents(includeRemoved: all, state: filter)
            try JSONOutput.print(torrents.map(TorrentJSON.init))
            return
        }
        // Without removed torrents (the usual listing), the queue is read and rendered in two halves at
        // once: 100,000 torrents list in about 60% of the time.
        let parts =
            all
            ? [try database.queueLines(includeRemoved: true, state: filter)]
            : try database.queueLineParts(state: filter, parts: 2)
        for bytes in Self.render(parts: parts) { FileHandle.standardOutput.write(Data(bytes)) }
    }

    /// ``render(parts:)`` of one part, as one buffer.
    static func render(_ lines: [QueueLine]) -> [UInt8] {
        Array(render(parts: [lines]).joined())
    }

    /// The queue as a table (the layout of ``Table``: ID right, NAME up to 60 characters, SIZE and DONE
    /// right, STATE, RATIO right), written straight from the lines into buffers, one per part (the parts
    /// are consecutive runs of the queue, rendered at the same time): no per-cell table, so 100,000
    /// torrents list in a fraction of a second. The header is at the start of the first buffer.
    static func render(parts: [[QueueLine]]) -> [[UInt8]] {
        let cells = concurrentMap(parts) { lines in
            var cells = ListCells(lines)
            cells.format()
            return cells
        }
        let widths = cells.reduce(ListCells.headers.map(\.utf8.count)) { zip($0, $1.widths).map(max) }
        return concurrentMap(Array(cells.indices)) { index in cells[index].bytes(widths: widths, header: index == 0) }
    }
}

/// One part's cells, formatted, with the widths they need.
private struct ListCells: Sendable {
    static let headers = ["ID", "NAME", "SIZE", "DONE", "STATE", "RATIO"]
    static let rightAligned = [true, false, true, true, false, true]

    let lines: [QueueLine]
    var names: [String] = []
    var nameWidths: [Int] = []
    var numbers: [(size: String, done: String, ratio: String)] = []
    var widths = [Int](repeating: 0, count: 6)

    init(_ lines: [QueueLine]) {
        self.lines = lines
        names.reserveCapacity(lines.count)
        nameWidths.reserveCapacity(lines.count)
        numbers.reserveCapacity(lines.count)
    }

    /// Formats every cell (done on the part's own thread).
    mutating func format() {
        for line in lines {
            let name = Table.shorten(line.name, to: 60)
            let cells = (
                size: line.totalSize.map(Formatting.size) ?? "?", done: Formatting.percent(line.progress),
                ratio: Formatting.ratio(
                    uploaded: line.uploaded, downloaded: line.downloaded > 0 ? line.downloaded : line.bytesDone)
            )
            let nameWidth = Table.width(of: name)
            widths[0] = max(widths[0], Self.digits(line.id))
            widths[1] = max(widths[1], nameWidth)
            widths[2] = max(widths[2], cells.size.utf8.count)
            widths[3] = max(widths[3], cells.done.utf8.count)
            widths[4] = max(widths[4], line.isRemoved ? 7 : line.state.rawValue.utf8.count)
            widths[5] = max(widths[5], cells.ratio.utf8.count)
            names.append(name)
            nameWidths.append(nameWidth)
            numbers.append(cells)
        }
    }

    /// The part's lines laid out in columns of `widths`, after the header when `header`.
    func bytes(widths: [Int], header: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((widths.reduce(0, +) + 11) * (lines.count + 1))
        func cell(_ text: String, width: Int, column: Int) {
            let padding = widths[column] - width
            if column > 0 { out.append(contentsOf: [32, 32]) }
            if Self.rightAligned[column] { out.append(contentsOf: repeatElement(32, count: padding)) }
            out.append(contentsOf: text.utf8)
            if !Self.rightAligned[column] { out.append(contentsOf: repeatElement(32, count: padding)) }
        }
        func endLine() {
            while out.last == 32 { out.removeLast() }
            out.append(10)
        }
        if header {
            for (column, title) in Self.headers.enumerated() { cell(title, width: title.utf8.count, column: column) }
            endLine()
        }
        for (index, line) in lines.enumerated() {
            let id = String(line.id)
            cell(id, width: id.utf8.count, column: 0)
            cell(names[index], width: nameWidths[index], column: 1)
            cell(numbers[index].size, width: numbers[index].size.utf8.count, column: 2)
            cell(numbers[index].done, width: numbers[index].done.utf8.count, column: 3)
            let state = line.isRemoved ? "removed" : line.state.rawValue
            cell(state, width: state.utf8.count, column: 4)
            cell(numbers[index].ratio, width: numbers[index].ratio.utf8.count, column: 5)
            endLine()
        }
        return out
    }

    static func digits(_ value: Int64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 || rest <= -10 {
            rest /= 10
            count += 1
        }
        return value < 0 ? count + 1 : count
    }
}
