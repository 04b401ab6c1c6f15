import Engine
import Foundation
import GRDB

/// One torrent of the queue as the database records it (a row of `btq list`, the facts of `btq info`).
public struct TorrentRecord: Sendable, Codable, Hashable, Identifiable {
    /// The list id: stable for the torrent's whole life, never reused while its row exists.
    public var id: Int64
    /// The v1 info-hash, 40 lower-case hex digits.
    public var infoHashV1: String?
    /// The v2 info-hash, 64 lower-case hex digits.
    public var infoHashV2: String?
    /// The torrent's name (a magnet's `dn`, or its info-hash when it has none, until the metadata comes).
    public var name: String
    /// Total bytes, pad files included; `nil` while a magnet's metadata is unknown.
    public var totalSize: Int64?
    /// Piece length in bytes; `nil` while a magnet's metadata is unknown.
    public var pieceLength: Int?
    /// Number of pieces; `nil` while a magnet's metadata is unknown.
    public var pieceCount: Int?
    /// Verified pieces.
    public var piecesDone: Int
    /// Bytes of the verified pieces (the progress numerator).
    public var bytesDone: Int64
    /// Its state. A removed torrent keeps the state it had when removed; see ``removedAt``.
    public var state: TorrentState
    /// Place in the queue, `0` at the head, dense over the torrents not removed; `-1` for a removed one.
    public var queuePosition: Int
    /// The folder its data goes into.
    public var saveDirectory: String
    /// True while it has no metainfo: added from a magnet link whose metadata has not arrived yet.
    public var isMagnet: Bool
    /// `v1`, `v2` or `hybrid`; `nil` while a magnet's metadata is unknown.
    public var version: String?
    /// BEP 27 private flag.
    public var isPrivate: Bool
    /// The torrent's `comment`.
    public var comment: String?
    /// The torrent's `created by`.
    public var createdBy: String?
    /// The torrent's `creation date`: seconds since 1970, as the `.torrent` file has it.
    public var creationDate: Int64?
    /// When it was added (or re-added after a removal).
    public var addedAt: Date
    /// When it first became active.
    public var startedAt: Date?
    /// When all of its data was first verified.
    public var completedAt: Date?
    /// When it was removed (soft delete); `nil` while it is in the queue.
    public var removedAt: Date?
    /// Payload bytes received over its life.
    public var downloaded: Int64
    /// Payload bytes sent over its life.
    public var uploaded: Int64
    /// Bytes received and discarded (failed hashes, duplicates).
    public var wasted: Int64
    /// The reason of its last fault, if it has one.
    public var lastError: String?
    /// Number of files, pad files not counted (0 while a magnet's metadata is unknown).
    public var fileCount: Int

    /// The info-hash btq shows: v1 when there is one, else v2.
    public var infoHash: String { infoHashV1 ?? infoHashV2 ?? "" }

    /// True once removed (soft delete).
    public var isRemoved: Bool { removedAt != nil }

    /// Verified fraction of the data, 0...1 (0 while the size is unknown; 1 for an empty torrent).
    public var progress: Double {
        QueueLine.progress(bytesDone: bytesDone, totalSize: totalSize)
    }

    /// Uploaded divided by downloaded; when nothing was downloaded (seeding existing data), uploaded
    /// divided by the verified bytes; 0 when both are zero.
    public var ratio: Double {
        let base = downloaded > 0 ? downloaded : bytesDone
        return base > 0 ? Double(uploaded) / Double(base) : 0
    }
}

extension TorrentRecord {
    /// The columns ``init(row:)`` reads, in order, for `SELECT <columns> FROM torrents`.
    static let columns = """
        id, info_hash_v1, info_hash_v2, name, total_size, piece_length, piece_count, pieces_done, bytes_done, \
        state, queue_position, save_dir, has_metainfo = 0, version, private, comment, created_by, creation_date, \
        added_at, started_at, completed_at, removed_at, downloaded, uploaded, wasted, last_error, file_count
        """

    /// Decodes a row selected with ``columns`` (by position, for speed over thousands of rows).
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` for a value btq never writes (a NULL name, a negative
    ///   size, text in a number column, ...), naming the torrent.
    init(row: Row) throws {
        var stored = StoredRow(row: row, table: "torrents")
        id = try stored.integer(0, "id", in: Int64.min...Int64.max)
        stored.torrentId = id
        infoHashV1 = try stored.optionalText(1, "info_hash_v1")
        infoHashV2 = try stored.optionalText(2, "info_hash_v2")
        name = try stored.text(3, "name")
        totalSize = try stored.optionalInteger(4, "total_size")
        pieceLength = try stored.optionalInt(5, "piece_length", in: 1...Int64.max)
        pieceCount = try stored.optionalInt(6, "piece_count")
        piecesDone = try stored.int(7, "pieces_done", in: 0...Int64(pieceCount ?? Int.max))
        bytesDone = try stored.integer(8, "bytes_done", in: 0...(totalSize ?? .max))
        let stateName = try stored.text(9, "state")
        // A state written by a newer btq that this build does not know reads as paused: never auto-started.
        state = TorrentState(rawValue: stateName) ?? .paused
        queuePosition = try stored.optionalInt(10, "queue_position") ?? -1
        saveDirectory = try stored.text(11, "save_dir")
        isMagnet = try stored.bool(12, "has_metainfo")
        version = try stored.optionalText(13, "version")
        isPrivate = try stored.bool(14, "private")
        comment = try stored.optionalText(15, "comment")
        createdBy = try stored.optionalText(16, "created_by")
        creationDate = try stored.optionalInteger(17, "creation_date", in: Int64.min...Int64.max)
        addedAt = Date(millisecondsSince1970: try stored.integer(18, "added_at", in: Self.times))
        startedAt = try stored.optionalInteger(19, "started_at", in: Self.times).map(Date.init(millisecondsSince1970:))
        completedAt = try stored.optionalInteger(20, "completed_at", in: Self.times).map(
            Date.init(millisecondsSince1970:))
        removedAt = try stored.optionalInteger(21, "removed_at", in: Self.times).map(Date.init(millisecondsSince1970:))
        downloaded = try stored.integer(22, "downloaded")
        uploaded = try stored.integer(23, "uploaded")
        wasted = try stored.integer(24, "wasted")
        lastError = try stored.optionalText(25, "last_error")
        fileCount = try stored.int(26, "file_count")
    }

    /// The times btq can have written: milliseconds from 1970 to the year 9999.
    static let times: ClosedRange<Int64> = 0...253_402_300_799_999
}
