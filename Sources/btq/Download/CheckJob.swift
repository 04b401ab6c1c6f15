import Engine
import Foundation
import Store

/// A full recheck of one queued torrent's data (`btq verify`, or the daemon working a torrent in the
/// `checking` state).
struct CheckJob: Sendable {
    let record: TorrentRecord
    let storage: FileStorage
    let checker: TorrentChecker

    /// Prepares a check of `record`; throws a `UserError` for a torrent whose data cannot be checked.
    init(record: TorrentRecord, store: BtqStore) throws {
        guard let bytes = try store.metainfoBytes(torrentId: record.id) else {
            throw UserError("#\(record.id) \(record.shownName) has no metadata yet (a magnet link): nothing to check")
        }
        let metainfo = try Metainfo(bytes: bytes)
        guard metainfo.pieceHashes != nil else {
            throw UserError(
                "#\(record.id) \(record.shownName) is a v2-only torrent; this btq checks v1 and hybrid torrents")
        }
        let priorities = try store.filePriorities(torrentId: record.id, count: metainfo.files.count).map {
            PiecePriority(UInt8(clamping: $0))
        }
        self.record = record
        self.storage = FileStorage(saveFolder: record.saveDirectory, metainfo: metainfo)
        self.checker = TorrentChecker(
            metainfo: metainfo, storage: storage, resume: store, torrentId: record.id, filePriorities: priorities)
    }

    /// Runs the check and closes the files.
    func run(progress: (@Sendable (_ checked: Int, _ total: Int) -> Void)? = nil) async throws -> TorrentChecker.Result
    {
        defer { Task { [storage] in await storage.close() } }
        return try await checker.run(progress: progress)
    }

    /// One line about a finished check.
    static func summary(_ record: TorrentRecord, _ result: TorrentChecker.Result) -> String {
        var line =
            "checked #\(record.id) \(record.shownName): \(result.validPieces) of \(result.pieceCount) pieces valid"
        if result.lostPieces > 0 { line += ", \(result.lostPieces) bad" }
        line += String(format: " (%.0f MB/s)", result.bytesPerSecond / 1_000_000)
        return line
    }
}
