import Engine
import Foundation
import GRDB

/// The `file_lists` encoding of a torrent's file list: what `btq files` and the RPC show of each file,
/// without the piece hashes, so the files of thousands of torrents are read without parsing their
/// metainfo.
///
/// Version 1: the byte 1, the file count (UInt32, big-endian), then per file: a flag byte (the BEP 47
/// attribute bits, and 0x80 when a symlink target follows), length and offset (Int64, big-endian, not
/// negative), the path's byte count (UInt32) and its UTF-8 bytes, then, flagged, the target's byte
/// count and bytes (its elements joined with `/`). Reading checks every count against the bytes left,
/// so a damaged row costs at most one pass over it and gives a typed error.
enum FileListBlob {
    static let version: UInt8 = 1
    static let targetFlag: UInt8 = 0x80
    /// The most files a row may claim (the metainfo parser's own limit is lower).
    static let maximumFiles = 1_000_000
    /// The largest row written. Each file's row holds its whole path, so a torrent of many files in
    /// deep or long-named folders (which its metainfo, or a v2 tree, names once) would make a row many
    /// times its `.torrent`; such a torrent keeps no row, and its files are read from the metainfo (as
    /// they were before the table). Ordinary torrents, even of thousands of files, are far below.
    static let maximumBytes = 4 << 20

    /// The bytes ``encode(_:)`` would make of `files`, counted without making them.
    static func encodedCount(_ files: some Collection<TorrentFile>) -> Int {
        var count = 5
        for file in files {
            count += 1 + 8 + 8 + 4 + file.relativePath.utf8.count
            if let target = file.symlinkTarget {
                count += 4 + target.reduce(max(0, target.count - 1)) { $0 + $1.utf8.count }
            }
        }
        return count
    }

    /// The encoding of `files`, or `nil` when it would pass ``maximumBytes`` (no row is kept).
    static func encodeIfSmall(_ files: some Collection<TorrentFile>) -> [UInt8]? {
        encodedCount(files) <= maximumBytes ? encode(files) : nil
    }

    /// The encoding of `files`.
    static func encode(_ files: some Collection<TorrentFile>) -> [UInt8] {
        var bytes: [UInt8] = [version]
        bytes.reserveCapacity(5 + files.count * 24)
        append(UInt32(files.count), to: &bytes)
        for file in files {
            var flags = file.attributes.rawValue & ~targetFlag
            if file.symlinkTarget != nil { flags |= targetFlag }
            bytes.append(flags)
            append(UInt64(max(0, file.length)), to: &bytes)
            append(UInt64(max(0, file.offset)), to: &bytes)
            appendString(file.relativePath, to: &bytes)
            if let target = file.symlinkTarget { appendString(target.joined(separator: "/"), to: &bytes) }
        }
        return bytes
    }

    /// The files `bytes` encodes.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` naming the torrent and what is wrong.
    static func decode(_ bytes: [UInt8], torrentId: Int64) throws -> [TorrentFile] {
        var reader = Reader(bytes: bytes)
        let damaged = { (problem: String) in
            StoreError.damaged(torrentId: torrentId, table: "file_lists", column: "entries", problem: problem)
        }
        guard let version = reader.byte(), version == Self.version else {
            throw damaged("does not start with version \(Self.version)")
        }
        guard let count = reader.uint32().map(Int.init), count <= maximumFiles else {
            throw damaged("holds no valid file count")
        }
        // Each file takes at least 21 bytes: a count larger than that allows is refused before any work.
        guard count <= (bytes.count - 5) / 21 else { throw damaged("claims \(count) files in \(bytes.count) bytes") }
        var files: [TorrentFile] = []
        files.reserveCapacity(count)
        for index in 0..<count {
            guard let flags = reader.byte(), let length = reader.int64(), let offset = reader.int64(),
                let path = reader.string()
            else { throw damaged("ends inside file \(index)") }
            var target: [String]?
            if flags & targetFlag != 0 {
                guard let text = reader.string() else { throw damaged("ends inside file \(index)'s link target") }
                target = text.isEmpty ? [] : text.pathElements
            }
            files.append(
                TorrentFile(
                    relativePath: path, length: length, offset: offset,
                    attributes: TorrentFile.Attributes(rawValue: flags & ~targetFlag), symlinkTarget: target))
        }
        guard reader.isAtEnd else { throw damaged("has \(bytes.count - reader.position) bytes after its last file") }
        return files
    }

    /// Stores the file list of torrent `torrentId`, replacing any.
    static func write(_ files: some Collection<TorrentFile>, torrentId: Int64, _ db: Database) throws {
        try write(encoded: encodeIfSmall(files), torrentId: torrentId, db)
    }

    /// Writes a torrent's row from its list already encoded (``encodeIfSmall(_:)``); `nil`: the list is
    /// too big to keep, and the torrent has no row (any older one is deleted).
    static func write(encoded bytes: [UInt8]?, torrentId: Int64, _ db: Database) throws {
        guard let bytes else {
            try db.execute(sql: "DELETE FROM file_lists WHERE torrent_id = ?", arguments: [torrentId])
            return
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO file_lists (torrent_id, entries) VALUES (?, ?)",
            arguments: [torrentId, Data(bytes)])
    }

    /// Writes the row of every torrent that has metainfo and none (the backfill of schema 12), parsing
    /// each metainfo once; one whose metainfo no longer parses is left without (reading its files
    /// then reports it, as before).
    static func backfill(_ db: Database) throws {
        let ids = try Int64.fetchAll(
            db,
            sql: """
                SELECT torrent_id FROM metainfo
                WHERE torrent_id NOT IN (SELECT torrent_id FROM file_lists) ORDER BY torrent_id
                """)
        for id in ids {
            guard let bytes = try MetainfoBlob.read(torrentId: id, db),
                let metainfo = try? Metainfo(bytes: bytes)
            else { continue }
            try write(metainfo.files, torrentId: id, db)
        }
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    private static func appendString(_ text: String, to bytes: inout [UInt8]) {
        append(UInt32(text.utf8.count), to: &bytes)
        bytes.append(contentsOf: text.utf8)
    }

    /// Reads big-endian values, `nil` past the end.
    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var isAtEnd: Bool { position == bytes.count }

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func uint32() -> UInt32? {
            guard bytes.count - position >= 4 else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 { value = value << 8 | UInt32(bytes[position]); position += 1 }
            return value
        }

        /// A non-negative Int64.
        mutating func int64() -> Int64? {
            guard bytes.count - position >= 8 else { return nil }
            var value: UInt64 = 0
            for _ in 0..<8 { value = value << 8 | UInt64(bytes[position]); position += 1 }
            return value <= UInt64(Int64.max) ? Int64(value) : nil
        }

        /// A counted UTF-8 string; `nil` when the count passes the end or the bytes are not UTF-8.
        mutating func string() -> String? {
            guard let count = uint32().map(Int.init), bytes.count - position >= count else { return nil }
            let slice = bytes[position..<position + count]
            position += count
            return String(validating: slice, as: UTF8.self)
        }
    }
}
