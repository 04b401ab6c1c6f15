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
    /// What its trackers last said of its swarm (the `seeders`, `leechers` and `completed` keys).
    var swarm: SwarmCounts?
    var trackers: [TrackerRecord]? = nil

    init(_ record: TorrentRecord) {
        self.init(record, swarm: nil)
    }

    init(_ record: TorrentRecord, swarm: SwarmCounts?) {
        self.record = record
        self.swarm = swarm
    }

    enum Keys: String, CodingKey {
        case id, name, state, progress, ratio, comment, trackers
        case infoHashV1 = "info_hash_v1", infoHashV2 = "info_hash_v2", totalSize = "total_size"
        case pieceLength = "piece_length", pieceCount = "piece_count", piecesDone = "pieces_done"
        case bytesDone = "bytes_done", queuePosition = "queue_position", saveDirectory = "save_dir"
        case isMagnet = "magnet", version = "meta_version", isPrivate = "private", createdBy = "created_by"
        case creationDate = "creation_date", addedAt = "added_at", startedAt = "started_at"
        case completedAt = "completed_at", removedAt = "removed_at", downloaded, uploaded, wasted
        case lastError = "last_error", fileCount = "file_count", seeders, leechers, completed
        case downloadOrder = "download_order"
    }

    /// The torrent's fields (without `trackers`), in the order of ``Keys``.
    var fields: [(key: Keys, value: JSONText.Value)] {
        [
            (.id, .integer(record.id)), (.name, .string(record.name)), (.state, .string(record.state.rawValue)),
            (.progress, .number(record.progress)), (.ratio, .number(record.ratio)),
            (.infoHashV1, .init(record.infoHashV1)), (.infoHashV2, .init(record.infoHashV2)),
            (.totalSize, .init(record.totalSize)), (.pieceLength, .init(record.pieceLength)),
            (.pieceCount, .init(record.pieceCount)), (.piecesDone, .init(record.piecesDone)),
            (.bytesDone, .integer(record.bytesDone)), (.queuePosition, .init(record.queuePosition)),
            (.saveDirectory, .string(record.saveDirectory)), (.isMagnet, .bool(record.isMagnet)),
            (.version, .init(record.version)), (.isPrivate, .bool(record.isPrivate)),
            (.comment, .init(record.comment)), (.createdBy, .init(record.createdBy)),
            (.creationDate, .init(record.creationDate)), (.addedAt, .init(Optional(record.addedAt))),
            (.startedAt, .init(record.startedAt)), (.completedAt, .init(record.completedAt)),
            (.removedAt, .init(record.removedAt)), (.downloaded, .integer(record.downloaded)),
            (.uploaded, .integer(record.uploaded)), (.wasted, .integer(record.wasted)),
            (.lastError, .init(record.lastError)), (.fileCount, .init(record.fileCount)),
            (.seeders, .init(swarm?.seeders)), (.leechers, .init(swarm?.leechers)),
            (.completed, .init(swarm?.completed)), (.downloadOrder, .string(record.downloadOrder.rawValue)),
        ]
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        for (key, value) in fields {
            switch value {
            case .null: try c.encodeNil(forKey: key)
            case .string(let text): try c.encode(text, forKey: key)
            case .integer(let integer): try c.encode(integer, forKey: key)
            case .number(let number): try c.encode(number, forKey: key)
            case .bool(let flag): try c.encode(flag, forKey: key)
            }
        }
        if let trackers {
            try c.encode(trackers.map(TrackerJSON.init), forKey: .trackers)
        }
    }
}

extension SwarmCounts {
    /// The largest figures `trackers` reported, `nil` when none reported any.
    init?(largestOf trackers: [TrackerRecord]) {
        let seeders = trackers.compactMap(\.seeders).max()
        let leechers = trackers.compactMap(\.leechers).max()
        let completed = trackers.compactMap(\.completed).max()
        guard seeders != nil || leechers != nil || completed != nil else { return nil }
        self.init(seeders: seeders, leechers: leechers, completed: completed)
    }
}

/// One tracker in `btq info --json`.
struct TrackerJSON: Encodable {
    let record: TrackerRecord

    enum Keys: String, CodingKey {
        case url, tier, seeders, leechers, completed
        case lastAnnounce = "last_announce", lastError = "last_error"
        case lastScrape = "last_scrape", scrapeError = "scrape_error"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(record.url, forKey: .url)
        try c.encode(record.tier, forKey: .tier)
        try c.encode(record.seeders, forKey: .seeders)
        try c.encode(record.leechers, forKey: .leechers)
        try c.encode(record.completed, forKey: .completed)
        try c.encode(record.lastAnnounceAt, forKey: .lastAnnounce)
        try c.encode(record.lastError, forKey: .lastError)
        try c.encode(record.lastScrapeAt, forKey: .lastScrape)
        try c.encode(record.scrapeError, forKey: .scrapeError)
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
