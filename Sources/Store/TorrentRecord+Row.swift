import Engine
import Foundation
import GRDB

extension TorrentRecord {
    /// The columns ``init(row:)`` reads, in order, for `SELECT <columns> FROM torrents`.
    static let columns = """
        id, info_hash_v1, info_hash_v2, name, total_size, piece_length, piece_count, pieces_done, bytes_done, \
        state, queue_position, save_dir, has_metainfo = 0, version, private, comment, created_by, creation_date, \
        added_at, started_at, completed_at, removed_at, downloaded, uploaded, wasted, last_error, file_count, \
        download_order, priorities_changed
        """

    /// Decodes a row selected with ``columns`` (by position, for speed over thousands of rows).
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` for a value btq never writes (a NULL name, a negative
    ///   size, text in a number column, ...), naming the torrent.
    init(row: Row) throws {
        try self.init(stored: StoredRow(row: row, table: "torrents"))
    }

    /// Decodes the current row of `statement` (selected with ``columns``), which `row` of a cursor over it
    /// stands for: read from SQLite directly, for lists of thousands.
    init(statement: Statement, row: Row) throws {
        try self.init(stored: StoredRow(statement: statement.sqliteStatement, row: row, table: "torrents"))
    }

    private init(stored row: StoredRow) throws {
        var stored = row
        let id = try stored.integer(0, "id", in: Int64.min...Int64.max)
        stored.torrentId = id
        let infoHashV1 = try stored.optionalText(1, "info_hash_v1")
        let infoHashV2 = try stored.optionalText(2, "info_hash_v2")
        let name = try stored.text(3, "name")
        let totalSize = try stored.optionalInteger(4, "total_size")
        let pieceLength = try stored.optionalInt(5, "piece_length", in: 1...Int64.max)
        let pieceCount = try stored.optionalInt(6, "piece_count")
        let piecesDone = try stored.int(7, "pieces_done", in: 0...Int64(pieceCount ?? Int.max))
        let bytesDone = try stored.integer(8, "bytes_done", in: 0...(totalSize ?? .max))
        let stateName = try stored.text(9, "state")
        // A state written by a newer btq that this build does not know reads as paused: never auto-started.
        let state = TorrentState(rawValue: stateName) ?? .paused
        let queuePosition = try stored.optionalInt(10, "queue_position") ?? -1
        let saveDirectory = try stored.text(11, "save_dir")
        let isMagnet = try stored.bool(12, "has_metainfo")
        let version = try stored.optionalText(13, "version")
        let isPrivate = try stored.bool(14, "private")
        let comment = try stored.optionalText(15, "comment")
        let createdBy = try stored.optionalText(16, "created_by")
        let creationDate = try stored.optionalInteger(17, "creation_date", in: Int64.min...Int64.max)
        let addedAt = Date(millisecondsSince1970: try stored.integer(18, "added_at", in: Self.times))
        let startedAt = try stored.optionalInteger(19, "started_at", in: Self.times).map(
            Date.init(millisecondsSince1970:))
        let completedAt = try stored.optionalInteger(20, "completed_at", in: Self.times).map(
            Date.init(millisecondsSince1970:))
        let removedAt = try stored.optionalInteger(21, "removed_at", in: Self.times).map(
            Date.init(millisecondsSince1970:))
        let downloaded = try stored.integer(22, "downloaded")
        let uploaded = try stored.integer(23, "uploaded")
        let wasted = try stored.integer(24, "wasted")
        let lastError = try stored.optionalText(25, "last_error")
        let fileCount = try stored.int(26, "file_count")
        // An order written by a newer btq that this build does not know reads as the default.
        let downloadOrder = DownloadOrder(rawValue: try stored.text(27, "download_order")) ?? .rarest
        let prioritiesChanged = try stored.integer(28, "priorities_changed")
        self.init(
            id: id,
            infoHashV1: infoHashV1,
            infoHashV2: infoHashV2,
            name: name,
            totalSize: totalSize,
            pieceLength: pieceLength,
            pieceCount: pieceCount,
            piecesDone: piecesDone,
            bytesDone: bytesDone,
            state: state,
            queuePosition: queuePosition,
            saveDirectory: saveDirectory,
            isMagnet: isMagnet,
            version: version,
            isPrivate: isPrivate,
            comment: comment,
            createdBy: createdBy,
            creationDate: creationDate,
            addedAt: addedAt,
            startedAt: startedAt,
            completedAt: completedAt,
            removedAt: removedAt,
            downloaded: downloaded,
            uploaded: uploaded,
            wasted: wasted,
            lastError: lastError,
            fileCount: fileCount,
            downloadOrder: downloadOrder,
            prioritiesChanged: prioritiesChanged)
    }

    /// The times btq can have written: milliseconds from 1970 to the year 9999.
    static let times: ClosedRange<Int64> = 0...253_402_300_799_999
}
