import Foundation
import GRDB

/// One file of a torrent (a row of `btq files`).
public struct FileRecord: Sendable, Codable, Hashable {
    /// Position in the torrent's file list (stream order, pad files included).
    public var index: Int
    /// Sanitized path below the save folder, elements joined with `/` (for a multi-file torrent the first
    /// element is the torrent's folder).
    public var path: String
    /// Length in bytes.
    public var length: Int64
    /// Offset of its first byte in the torrent's byte stream.
    public var offset: Int64
    /// Download priority: 0 = skip, 1...7 from low to high, 4 = normal (the default).
    public var priority: Int
    /// A BEP 47 pad file: zeros that are never written to disk.
    public var isPad: Bool
    /// BEP 47 executable attribute.
    public var isExecutable: Bool
    /// BEP 47 hidden attribute.
    public var isHidden: Bool
    /// For a symbolic link (BEP 47 `l`): its sanitized target, elements joined with `/`.
    public var symlinkTarget: String?
    /// Bytes of this file inside verified pieces; `nil` when the torrent's piece layout is unknown.
    public var bytesDone: Int64?

    /// Verified fraction of the file, 0...1 (1 for an empty file).
    public var progress: Double {
        guard let bytesDone else { return 0 }
        return length > 0 ? Double(bytesDone) / Double(length) : 1
    }

    /// The columns ``init(row:bytesDone:)`` reads, in order.
    static let columns = """
        file_index, path, length, byte_offset, priority, pad, attributes, symlink_target
        """

    /// Decodes a row selected with ``columns``.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` for a value btq never writes, naming the torrent.
    init(row: Row, torrentId: Int64, bytesDone: Int64?) throws {
        let stored = StoredRow(row: row, table: "files", torrentId: torrentId)
        index = try stored.int(0, "file_index")
        path = try stored.text(1, "path")
        length = try stored.integer(2, "length")
        offset = try stored.integer(3, "byte_offset", in: 0...(Int64.max - length))
        priority = try stored.int(4, "priority", in: 0...7)
        isPad = try stored.bool(5, "pad")
        let attributes = try stored.text(6, "attributes")
        isExecutable = attributes.contains("x")
        isHidden = attributes.contains("h")
        symlinkTarget = try stored.optionalText(7, "symlink_target")
        self.bytesDone = bytesDone
    }
}
