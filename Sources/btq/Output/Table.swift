import Foundation

/// A plain-text table with aligned columns, as `btq list` and `btq files` print it.
struct Table {
    /// How a column lines up its cells.
    enum Alignment {
        case left
        case right
    }

    /// A column header and its alignment.
    struct Column {
        let title: String
        let alignment: Alignment
        /// The widest the column may get; longer cells are shortened with an ellipsis in the middle.
        let maxWidth: Int?

        init(_ title: String, _ alignment: Alignment = .left, maxWidth: Int? = nil) {
            self.title = title
            self.alignment = alignment
            self.maxWidth = maxWidth
        }
    }

    let columns: [Column]
    private(set) var rows: [[String]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    /// Adds a row; its cells are shown without control characters (``TerminalText``).
    mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "a row needs one cell per column")
        rows.append(row.map { TerminalText.clean($0) })
    }

    /// The table as lines, headers first, columns separated by two spaces, no trailing blanks.
    func render() -> String {
        String(decoding: renderBytes(), as: UTF8.self)
    }

    /// Writes the table to standard output in one call (for commands that print nothing else before it).
    func write() {
        FileHandle.standardOutput.write(Data(renderBytes()))
    }

    /// ``render()`` as UTF-8, built in one buffer: a cell's width is counted once (bytes for ASCII,
    /// characters otherwise), and padding is written as bytes, so a 100,000-row queue renders fast.
    func renderBytes() -> [UInt8] {
        let count = columns.count
        var cells: [String] = []
        cells.reserveCapacity((rows.count + 1) * count)
        var lengths: [Int] = []
        lengths.reserveCapacity(cells.capacity)
        var widths = [Int](repeating: 0, count: count)
        func add(_ cell: String, column: Int) {
            let shortened = columns[column].maxWidth.map { Table.shorten(cell, to: $0) } ?? cell
            let width = Table.width(of: shortened)
            cells.append(shortened)
            lengths.append(width)
            widths[column] = max(widths[column], width)
        }
        for (index, column) in columns.enumerated() { add(column.title, column: index) }
        for row in rows {
            for (index, cell) in row.enumerated() { add(cell, column: index) }
        }
        var out: [UInt8] = []
        out.reserveCapacity((widths.reduce(0, +) + 2 * count + 1) * (rows.count + 1))
        var index = 0
        while index < cells.count {
            let lineStart = out.count
            for column in 0..<count {
                let cell = cells[index + column]
                let padding = widths[column] - lengths[index + column]
                if column > 0 { out.append(contentsOf: [32, 32]) }
                if columns[column].alignment == .right { out.append(contentsOf: repeatElement(32, count: padding)) }
                out.append(contentsOf: cell.utf8)
                if columns[column].alignment == .left { out.append(contentsOf: repeatElement(32, count: padding)) }
            }
            while out.count > lineStart, out.last == 32 { out.removeLast() }
            out.append(10)
            index += count
        }
        return out
    }

    /// The width a cell takes on screen: its bytes when it is ASCII, else its characters.
    static func width(of text: String) -> Int {
        var ascii = true
        var bytes = 0
        for byte in text.utf8 {
            bytes += 1
            if byte >= 0x80 {
                ascii = false
                break
            }
        }
        return ascii ? bytes : text.count
    }

    /// Shortens `text` to `width` characters, keeping its start and end around a `…`.
    static func shorten(_ text: String, to width: Int) -> String {
        guard text.utf8.count > width, Table.width(of: text) > width, width > 1 else { return text }
        let head = (width - 1) * 2 / 3
        let tail = width - 1 - head
        return String(text.prefix(head)) + "…" + String(text.suffix(tail))
    }
}
