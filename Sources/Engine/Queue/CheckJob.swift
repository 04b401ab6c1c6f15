import Foundation

/// A full recheck of one queued torrent's data (`btq verify`, or the daemon working a torrent in the
/// `checking` state).
package struct CheckJob: CheckWork {
    package let record: TorrentRecord
    package let storage: FileStorage
    package let checker: TorrentChecker

    /// Prepares a check of `record`; throws a `QueueError` for a torrent whose data cannot be checked.
    package init(record: TorrentRecord, store: any TorrentContentStore) throws {
        let (metainfo, priorities) = try store.workableContent(
            of: record, verb: "checks", withoutMetadata: "has no metadata yet (a magnet link): nothing to check")
        self.record = record
        self.storage = FileStorage(saveFolder: record.saveDirectory, metainfo: metainfo)
        self.checker = TorrentChecker(
            metainfo: metainfo, storage: storage, resume: store, torrentId: record.id, filePriorities: priorities)
    }

    /// Runs the check and closes the files.
    package func run() async throws -> TorrentChecker.Result {
        try await run(progress: nil)
    }

    /// Runs the check, telling `progress` as pieces are checked, and closes the files.
    package func run(
        progress: (@Sendable (_ checked: Int, _ total: Int) -> Void)? = nil
    ) async throws -> TorrentChecker.Result {
        defer { Task { [storage] in await storage.close() } }
        return try await checker.run(progress: progress)
    }

    /// One line about a finished check.
    package static func summary(_ record: TorrentRecord, _ result: TorrentChecker.Result) -> String {
        var line =
            "checked #\(record.id) \(record.name): \(result.validPieces) of \(result.pieceCount) pieces valid"
        if result.lostPieces > 0 { line += ", \(result.lostPieces) bad" }
        line += String(format: " (%.0f MB/s)", result.bytesPerSecond / 1_000_000)
        return line
    }
}
