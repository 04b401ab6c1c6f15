import Engine
import Foundation

/// What `btq list` shows of one torrent: the few columns of its queue line, read without the rest of
/// its record (a queue of 100,000 torrents lists in a fraction of the time).
package struct QueueLine: Hashable, Sendable {
    /// The list id.
    package var id: Int64
    /// The torrent's name.
    package var name: String
    /// Total bytes, `nil` for a magnet link without metadata.
    package var totalSize: Int64?
    /// Bytes of verified pieces.
    package var bytesDone: Int64
    /// Its state.
    package var state: TorrentState
    /// True once removed (kept for its history).
    package var isRemoved: Bool
    /// Lifetime payload bytes sent and received.
    package var uploaded: Int64
    package var downloaded: Int64

    package init(
        id: Int64, name: String, totalSize: Int64?, bytesDone: Int64, state: TorrentState, isRemoved: Bool,
        uploaded: Int64, downloaded: Int64
    ) {
        self.id = id
        self.name = name
        self.totalSize = totalSize
        self.bytesDone = bytesDone
        self.state = state
        self.isRemoved = isRemoved
        self.uploaded = uploaded
        self.downloaded = downloaded
    }

    /// Fraction of the torrent verified (as ``TorrentRecord/progress``).
    package var progress: Double {
        Self.progress(bytesDone: bytesDone, totalSize: totalSize)
    }

    /// The fraction `bytesDone` is of `totalSize`: 0 while the size is unknown (a magnet link without
    /// metadata), 1 for an empty torrent.
    package static func progress(bytesDone: Int64, totalSize: Int64?) -> Double {
        guard let totalSize else { return 0 }
        guard totalSize > 0 else { return 1 }
        return min(1, Double(bytesDone) / Double(totalSize))
    }
}

/// One queue line as SQLite hands it over, for a caller that formats many lines without making a
/// `String` of every name (`btq list` of 100,000 torrents). `name` points into SQLite's current row:
/// it is valid only during the call that receives these fields.
package struct QueueLineFields {
    package var id: Int64
    /// The name's UTF-8 bytes, borrowed from SQLite.
    package var name: UnsafeBufferPointer<UInt8>
    package var totalSize: Int64?
    package var bytesDone: Int64
    package var state: TorrentState
    package var isRemoved: Bool
    package var uploaded: Int64
    package var downloaded: Int64

    package init(
        id: Int64, name: UnsafeBufferPointer<UInt8>, totalSize: Int64?, bytesDone: Int64, state: TorrentState,
        isRemoved: Bool, uploaded: Int64, downloaded: Int64
    ) {
        self.id = id
        self.name = name
        self.totalSize = totalSize
        self.bytesDone = bytesDone
        self.state = state
        self.isRemoved = isRemoved
        self.uploaded = uploaded
        self.downloaded = downloaded
    }
}

extension QueueLine {
    /// The line of `fields`, its name copied out of SQLite.
    package init(_ fields: borrowing QueueLineFields) {
        self.init(
            id: fields.id, name: String(decoding: fields.name, as: UTF8.self), totalSize: fields.totalSize,
            bytesDone: fields.bytesDone, state: fields.state, isRemoved: fields.isRemoved,
            uploaded: fields.uploaded, downloaded: fields.downloaded)
    }
}
