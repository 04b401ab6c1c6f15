import Foundation
import GRDB
import GRDBSQLite

/// Reads a row's columns by position and refuses what btq never writes — a NULL where a value must be,
/// a value of another type, a number out of its range — with ``StoreError`` `.damagedDatabase` naming
/// the torrent, the table and the column. (GRDB's row subscripts stop the process on such values.)
struct StoredRow {
    /// The row.
    let row: Row
    /// Its table, for the message.
    let table: String
    /// The torrent it belongs to, when known, for the message.
    var torrentId: Int64?
    /// The statement `row` is the current row of, when read from a cursor: integers and text are then
    /// read from SQLite directly, without GRDB's generic decoding (which thousands of rows make costly).
    private let statement: SQLiteStatement?

    /// Reads `row` of `table` (of torrent `torrentId`, when known).
    init(row: Row, table: String, torrentId: Int64? = nil) {
        self.row = row
        self.table = table
        self.torrentId = torrentId
        self.statement = nil
    }

    /// Reads the current row of `statement`, which `row` (from a cursor over it) stands for.
    init(statement: SQLiteStatement, row: Row, table: String) {
        self.row = row
        self.table = table
        self.statement = statement
    }

    /// An integer column that must hold a value within `range`.
    func integer(_ index: Int, _ column: String, in range: ClosedRange<Int64> = 0...Int64.max) throws -> Int64 {
        guard let value = try optionalInteger(index, column, in: range) else {
            throw damaged(column, "is NULL; an integer was expected")
        }
        return value
    }

    /// An integer column that may be NULL.
    func optionalInteger(
        _ index: Int, _ column: String, in range: ClosedRange<Int64> = 0...Int64.max
    ) throws -> Int64? {
        if let statement {
            switch sqlite3_column_type(statement, Int32(index)) {
            case SQLITE_NULL:
                return nil
            case SQLITE_INTEGER:
                let number = sqlite3_column_int64(statement, Int32(index))
                guard range.contains(number) else {
                    throw damaged(column, "holds \(number), out of \(describe(range))")
                }
                return number
            default:
                break  // described below
            }
        }
        let value: DatabaseValue = row[index]
        switch value.storage {
        case .null:
            return nil
        case .int64(let number):
            guard range.contains(number) else { throw damaged(column, "holds \(number), out of \(describe(range))") }
            return number
        default:
            throw damaged(column, "holds \(Self.describe(value)); an integer was expected")
        }
    }

    /// ``integer(_:_:in:)`` as an `Int`.
    func int(_ index: Int, _ column: String, in range: ClosedRange<Int64> = 0...Int64.max) throws -> Int {
        Int(try integer(index, column, in: range))
    }

    /// ``optionalInteger(_:_:in:)`` as an `Int`.
    func optionalInt(_ index: Int, _ column: String, in range: ClosedRange<Int64> = 0...Int64.max) throws -> Int? {
        try optionalInteger(index, column, in: range).map { Int($0) }
    }

    /// A 0 or 1 column.
    func bool(_ index: Int, _ column: String) throws -> Bool {
        try integer(index, column, in: 0...1) == 1
    }

    /// A text column that must not be NULL.
    func text(_ index: Int, _ column: String) throws -> String {
        guard let text = try optionalText(index, column) else {
            throw damaged(column, "is NULL; text was expected")
        }
        return text
    }

    /// A text column that may be NULL.
    func optionalText(_ index: Int, _ column: String) throws -> String? {
        if let statement {
            switch sqlite3_column_type(statement, Int32(index)) {
            case SQLITE_NULL:
                return nil
            case SQLITE_TEXT:
                // The text first, then its length, as SQLite asks.
                guard let text = sqlite3_column_text(statement, Int32(index)) else { return "" }
                let count = Int(sqlite3_column_bytes(statement, Int32(index)))
                return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
            default:
                break  // described below
            }
        }
        let value: DatabaseValue = row[index]
        switch value.storage {
        case .null: return nil
        case .string(let text): return text
        default: throw damaged(column, "holds \(Self.describe(value)); text was expected")
        }
    }

    /// A BLOB column that may be NULL.
    func optionalBlob(_ index: Int, _ column: String) throws -> Data? {
        let value: DatabaseValue = row[index]
        switch value.storage {
        case .null: return nil
        case .blob(let data): return data
        default: throw damaged(column, "holds \(Self.describe(value)); a BLOB was expected")
        }
    }

    /// The error for `column`.
    func damaged(_ column: String, _ problem: String) -> StoreError {
        StoreError.damaged(torrentId: torrentId, table: table, column: column, problem: problem)
    }

    private func describe(_ range: ClosedRange<Int64>) -> String {
        if range.upperBound == .max { return "the range >= \(range.lowerBound)" }
        return "the range \(range.lowerBound)...\(range.upperBound)"
    }

    /// A short description of a stored value (never its whole text).
    static func describe(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "NULL"
        case .int64(let number): "the integer \(number)"
        case .double(let number): "the real number \(number)"
        case .string(let text): "text of \(text.utf8.count) bytes"
        case .blob(let data): "a BLOB of \(data.count) bytes"
        }
    }
}
