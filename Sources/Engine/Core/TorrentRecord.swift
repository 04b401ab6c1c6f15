import Foundation

/// One torrent of the queue as the database records it (Store reads and writes it; the queue manager
/// works from it) (a row of `btq list`, the facts of `btq info`).
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
    /// The order its new pieces are started in (`btq order`, `--sequential`, `--first-last`).
    public var downloadOrder: DownloadOrder
    /// Counts the changes of its file priorities (`btq files`), so a running daemon sees them.
    public var prioritiesChanged: Int64

    /// A record with every field given (the store decodes rows into it; tests build them).
    public init(
        id: Int64,
        infoHashV1: String?,
        infoHashV2: String?,
        name: String,
        totalSize: Int64?,
        pieceLength: Int?,
        pieceCount: Int?,
        piecesDone: Int,
        bytesDone: Int64,
        state: TorrentState,
        queuePosition: Int,
        saveDirectory: String,
        isMagnet: Bool,
        version: String?,
        isPrivate: Bool,
        comment: String?,
        createdBy: String?,
        creationDate: Int64?,
        addedAt: Date,
        startedAt: Date?,
        completedAt: Date?,
        removedAt: Date?,
        downloaded: Int64,
        uploaded: Int64,
        wasted: Int64,
        lastError: String?,
        fileCount: Int,
        downloadOrder: DownloadOrder = .rarest,
        prioritiesChanged: Int64 = 0
    ) {
        self.id = id
        self.infoHashV1 = infoHashV1
        self.infoHashV2 = infoHashV2
        self.name = name
        self.totalSize = totalSize
        self.pieceLength = pieceLength
        self.pieceCount = pieceCount
        self.piecesDone = piecesDone
        self.bytesDone = bytesDone
        self.state = state
        self.queuePosition = queuePosition
        self.saveDirectory = saveDirectory
        self.isMagnet = isMagnet
        self.version = version
        self.isPrivate = isPrivate
        self.comment = comment
        self.createdBy = createdBy
        self.creationDate = creationDate
        self.addedAt = addedAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.removedAt = removedAt
        self.downloaded = downloaded
        self.uploaded = uploaded
        self.wasted = wasted
        self.lastError = lastError
        self.fileCount = fileCount
        self.downloadOrder = downloadOrder
        self.prioritiesChanged = prioritiesChanged
    }

    /// The info-hash btq shows: v1 when there is one, else v2.
    public var infoHash: String { infoHashV1 ?? infoHashV2 ?? "" }

    /// True once removed (soft delete).
    public var isRemoved: Bool { removedAt != nil }

    /// Verified fraction of the data, 0...1 (0 while the size is unknown; 1 for an empty torrent).
    public var progress: Double {
        guard let totalSize else { return 0 }
        guard totalSize > 0 else { return 1 }
        return min(1, Double(bytesDone) / Double(totalSize))
    }

    /// Uploaded divided by downloaded; when nothing was downloaded (seeding existing data), uploaded
    /// divided by the verified bytes; 0 when both are zero.
    public var ratio: Double {
        let base = downloaded > 0 ? downloaded : bytesDone
        return base > 0 ? Double(uploaded) / Double(base) : 0
    }
}
