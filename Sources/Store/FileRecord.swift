import Engine
import Foundation

/// One file of a torrent (a row of `btq files`).
package struct FileRecord: Sendable, Codable, Hashable {
    /// Position in the torrent's file list (stream order, pad files included).
    package var index: Int
    /// Sanitized path below the save folder, elements joined with `/` (for a multi-file torrent the first
    /// element is the torrent's folder).
    package var path: String
    /// Length in bytes.
    package var length: Int64
    /// Offset of its first byte in the torrent's byte stream.
    package var offset: Int64
    /// Download priority: 0 = skip, 1...7 from low to high, 4 = normal (the default).
    package var priority: Int
    /// A BEP 47 pad file: zeros that are never written to disk.
    package var isPad: Bool
    /// BEP 47 executable attribute.
    package var isExecutable: Bool
    /// BEP 47 hidden attribute.
    package var isHidden: Bool
    /// For a symbolic link (BEP 47 `l`): its sanitized target, elements joined with `/`.
    package var symlinkTarget: String?
    /// Bytes of this file inside verified pieces; `nil` when the torrent's piece layout is unknown.
    package var bytesDone: Int64?

    /// Verified fraction of the file, 0...1 (1 for an empty file).
    package var progress: Double {
        guard let bytesDone else { return 0 }
        return length > 0 ? Double(bytesDone) / Double(length) : 1
    }

    /// The record of `file`, the torrent's file number `index`.
    init(index: Int, file: TorrentFile, priority: Int, bytesDone: Int64?) {
        self.index = index
        path = file.relativePath
        length = file.length
        offset = file.offset
        self.priority = priority
        isPad = file.isPad
        isExecutable = file.attributes.contains(.executable)
        isHidden = file.attributes.contains(.hidden)
        symlinkTarget = file.symlinkTarget?.joined(separator: "/")
        self.bytesDone = bytesDone
    }
}
