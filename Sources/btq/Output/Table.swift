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

    mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "a row needs one cell per column")
        rows.append(row)
    }

    /// The table as lines, headers first, columns separated by two spaces, no trailing blanks.
    func render() -> String {
        let cells =
            [columns.map(\.title)]
            + rows.map { row in
                zip(row, columns).map { cell, column in
                    column.maxWidth.map { Table.shorten(cell, to: $0) } ?? cell
                }
            }
        var widths = columns.map { _ in 0 }
        for row in cells {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], cell.count)
            }
        }
        var out = ""
        for row in cells {
            var line = ""
            for (index, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { line += "  " }
                line += columns[index].alignment == .left ? cell + padding : padding + cell
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// Shortens `text` to `width` characters, keeping its start and end around a `…`.
    static func shorten(_ text: String, to width: Int) -> String {
        guard text.count > width, width > 1 else { return text }
        let head = (width - 1) * 2 / 3
        let tail = width - 1 - head
        return String(text.prefix(head)) + "…" + String(text.suffix(tail))
    }
}
