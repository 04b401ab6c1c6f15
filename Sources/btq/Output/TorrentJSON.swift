import Engine
import Foundation
import Store

extension TorrentRecord {
    /// The hash btq shows: v1 when there is one, else v2.
    var displayHash: String { infoHashV1 ?? infoHashV2 ?? "" }
}

/// One torrent as `btq list --json`, `btq info --json` and `btq add --json` print it (docs/json.md).
struct TorrentJSON: Encodable {
    let record: TorrentRecord
    var trackers: [TrackerRecord]? = nil

    init(_ record: TorrentRecord) {
        self.record = record
    }

    enum Keys: String, CodingKey {
        case id, name, state, progress, ratio, comment, trackers
        case infoHashV1 = "info_hash_v1", infoHashV2 = "info_hash_v2", totalSize = "total_size"
        case pieceLength = "piece_length", pieceCount = "piece_count", piecesDone = "pieces_done"
        case bytesDone = "bytes_done", queuePosition = "queue_position", saveDirectory = "save_dir"
        case isMagnet = "magnet", version = "meta_version", isPrivate = "private", createdBy = "created_by"
        case creationDate = "creation_date", addedAt = "added_at", startedAt = "started_at"
        case completedAt = "completed_at", removedAt = "removed_at", downloaded, uploaded, wasted
        case lastError = "last_error", fileCount = "file_count"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(record.id, forKey: .id)
        try c.encode(record.name, forKey: .name)
        try c.encode(record.state.rawValue, forKey: .state)
        try c.encode(record.progress, forKey: .progress)
        try c.encode(record.ratio, forKey: .ratio)
        try c.encode(record.infoHashV1, forKey: .infoHashV1)
        try c.encode(record.infoHashV2, forKey: .infoHashV2)
        try c.encode(record.totalSize, forKey: .totalSize)
        try c.encode(record.pieceLength, forKey: .pieceLength)
        try c.encode(record.pieceCount, forKey: .pieceCount)
        try c.encode(record.piecesDone, forKey: .piecesDone)
        try c.encode(record.bytesDone, forKey: .bytesDone)
        try c.encode(record.queuePosition, forKey: .queuePosition)
        try c.encode(record.saveDirectory, forKey: .saveDirectory)
        try c.encode(record.isMagnet, forKey: .isMagnet)
        try c.encode(record.version, forKey: .version)
        try c.encode(record.isPrivate, forKey: .isPrivate)
        try c.encode(record.comment, forKey: .comment)
        try c.encode(record.createdBy, forKey: .createdBy)
        try c.encode(record.creationDate, forKey: .creationDate)
        try c.encode(record.addedAt, forKey: .addedAt)
        try c.encode(record.startedAt, forKey: .startedAt)
        try c.encode(record.completedAt, forKey: .completedAt)
        try c.encode(record.removedAt, forKey: .removedAt)
        try c.encode(record.downloaded, forKey: .downloaded)
        try c.encode(record.uploaded, forKey: .uploaded)
        try c.encode(record.wasted, forKey: .wasted)
        try c.encode(record.lastError, forKey: .lastError)
        try c.encode(record.fileCount, forKey: .fileCount)
        if let trackers {
            try c.encode(trackers.map(TrackerJSON.init), forKey: .trackers)
        }
    }
}

/// One tracker in `btq info --json`.
struct TrackerJSON: Encodable {
    let record: TrackerRecord

    enum Keys: String, CodingKey {
        case url, tier, seeders, leechers
        case lastAnnounce = "last_announce", lastError = "last_error"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(record.url, forKey: .url)
        try c.encode(record.tier, forKey: .tier)
        try c.encode(record.seeders, forKey: .seeders)
        try c.encode(record.leechers, forKey: .leechers)
        try c.encode(record.lastAnnounceAt, forKey: .lastAnnounce)
        try c.encode(record.lastError, forKey: .lastError)
    }
}

/// One file in `btq files --json`.
struct FileJSON: Encodable {
    let record: FileRecord

    enum Keys: String, CodingKey {
        case index, path, length, offset, priority
        case isPad = "pad", bytesDone = "bytes_done"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(record.index, forKey: .index)
        try c.encode(record.path, forKey: .path)
        try c.encode(record.length, forKey: .length)
        try c.encode(record.offset, forKey: .offset)
        try c.encode(record.priority, forKey: .priority)
        try c.encode(record.isPad, forKey: .isPad)
        try c.encode(record.bytesDone, forKey: .bytesDone)
    }
}
