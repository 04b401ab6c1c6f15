import Engine
import Foundation
import Store

/// Queue lines formatted cell by cell into one buffer as they are read (no `String` per cell), with the
/// widths their columns need.
struct ListPart: Sendable {
    static let headers = ["ID", "NAME", "SIZE", "DONE", "STATE", "RATIO"]
    static let rightAligned = [true, false, true, true, false, true]
    /// The widest a name is shown; longer names are shortened in the middle (``Table/shorten(_:to:)``).
    static let nameLimit = 60

    /// Every line's cells, one after the other.
    private var text: [UInt8] = []
    /// Where each cell ends in `text`, six per line.
    private var ends: [Int32] = []
    /// Where the cell being written starts in `text`.
    private var cellStart = 0
    /// Each line's NAME width on screen (the other cells are ASCII: their width is their length).
    private var nameWidths: [Int32] = []
    /// The widest cell of each column.
    private(set) var widths = [Int](repeating: 0, count: 6)

    init() {}

    /// An empty part with room for about `lines` lines (growing it copies everything written so far).
    init(reservingFor lines: Int) {
        text.reserveCapacity(lines * 48)
        ends.reserveCapacity(lines * 6)
        nameWidths.reserveCapacity(lines)
    }

    init(_ lines: [QueueLine]) {
        self.init(reservingFor: lines.count)
        for line in lines { append(line) }
    }

    var count: Int { nameWidths.count }

    mutating func append(_ line: QueueLine) {
        var name = line.name
        name.withUTF8 { name in
            append(
                QueueLineFields(
                    id: line.id, name: name, totalSize: line.totalSize, bytesDone: line.bytesDone, state: line.state,
                    isRemoved: line.isRemoved, uploaded: line.uploaded, downloaded: line.downloaded))
        }
    }

    mutating func append(_ line: borrowing QueueLineFields) {
        Formatting.appendFixed(Double(line.id), digits: 0, to: &text)
        endCell(column: 0)
        if line.name.count <= Self.nameLimit, !line.name.contains(where: { $0 >= 0x80 || $0 < 0x20 || $0 == 0x7F }) {
            text.append(contentsOf: line.name)
            endCell(column: 1, width: line.name.count)
        } else {
            let clean = TerminalText.clean(String(decoding: line.name, as: UTF8.self))
            let name = Table.shorten(clean, to: Self.nameLimit)
            text.append(contentsOf: name.utf8)
            endCell(column: 1, width: Table.width(of: name))
        }
        if let totalSize = line.totalSize {
            Formatting.appendSize(totalSize, to: &text)
        } else {
            text.append(UInt8(ascii: "?"))
        }
        endCell(column: 2)
        Formatting.appendPercent(QueueLine.progress(bytesDone: line.bytesDone, totalSize: line.totalSize), to: &text)
        endCell(column: 3)
        text.append(contentsOf: line.isRemoved ? "removed".utf8 : line.state.rawValue.utf8)
        endCell(column: 4)
        Formatting.appendRatio(
            uploaded: line.uploaded, downloaded: line.downloaded > 0 ? line.downloaded : line.bytesDone, to: &text)
        endCell(column: 5)
    }

    /// Ends the cell written last, `width` wide on screen (its length when not given).
    private mutating func endCell(column: Int, width: Int? = nil) {
        let width = width ?? text.count - cellStart
        if column == 1 { nameWidths.append(Int32(width)) }
        widths[column] = max(widths[column], width)
        ends.append(Int32(text.count))
        cellStart = text.count
    }

    /// The part's lines laid out in columns of `widths` (two spaces apart, no trailing blanks), after
    /// the header when `header`.
    func bytes(widths: [Int], header: Bool) -> [UInt8] {
        let headerText = Self.headers.joined().utf8.map { $0 }
        let headerEnds = Self.headers.reduce(into: [Int32]()) { $0.append(($0.last ?? 0) + Int32($1.utf8.count)) }
        // A line takes its cells' bytes, at most a column's width of padding per cell, the separators and
        // the newline (a name's bytes can outnumber its width on screen).
        let capacity = headerText.count + text.count + (count + 1) * (widths.reduce(0, +) + 2 * (widths.count - 1) + 1)
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
            var position = 0
            func line(_ text: UnsafeBufferPointer<UInt8>, ends: ArraySlice<Int32>, start: Int, nameWidth: Int) {
                let lineStart = position
                var cellStart = start
                for (column, end) in zip(0..., ends) {
                    let length = Int(end) - cellStart
                    let padding = widths[column] - (column == 1 ? nameWidth : length)
                    if column > 0 {
                        out[position] = 32
                        out[position + 1] = 32
                        position += 2
                    }
                    if Self.rightAligned[column] {
                        out.baseAddress!.advanced(by: position).initialize(repeating: 32, count: padding)
                        position += padding
                    }
                    out.baseAddress!.advanced(by: position).initialize(
                        from: text.baseAddress!.advanced(by: cellStart), count: length)
                    position += length
                    if !Self.rightAligned[column] {
                        out.baseAddress!.advanced(by: position).initialize(repeating: 32, count: padding)
                        position += padding
                    }
                    cellStart = Int(end)
                }
                while position > lineStart, out[position - 1] == 32 { position -= 1 }
                out[position] = 10
                position += 1
            }
            if header {
                headerText.withUnsafeBufferPointer { text in
                    line(text, ends: headerEnds[...], start: 0, nameWidth: Self.headers[1].utf8.count)
                }
            }
            text.withUnsafeBufferPointer { text in
                for index in 0..<count {
                    line(
                        text, ends: ends[index * 6..<index * 6 + 6], start: index == 0 ? 0 : Int(ends[index * 6 - 1]),
                        nameWidth: Int(nameWidths[index]))
                }
            }
            initialized = position
        }
    }
}
