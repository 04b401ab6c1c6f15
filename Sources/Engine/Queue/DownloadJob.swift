import Foundation
import Logging

/// Builds the engine's pieces for one queued torrent: its metainfo, storage and session.
package struct DownloadJob: Sendable {
    package let record: TorrentRecord
    package let metainfo: Metainfo
    package let storage: FileStorage
    package let session: TorrentSession

    /// Prepares a job for `record`; throws a `QueueError` for what cannot be downloaded yet.
    package init(
        record: TorrentRecord, store: any TorrentContentStore, configuration: SessionConfiguration,
        stopWhenComplete: Bool,
        trackers: TrackerClient?, resumePolicy: ResumePolicy = .cleanHistory, limits: TransferLimits = TransferLimits(),
        logger: Logger
    ) throws {
        let (metainfo, priorities) = try store.workableContent(
            of: record, verb: "downloads", withoutMetadata: "is a magnet link whose metadata has not been fetched yet")
        self.record = record
        self.metainfo = metainfo
        self.storage = FileStorage(
            saveFolder: record.saveDirectory, metainfo: metainfo, openFiles: configuration.openFiles)
        self.session = TorrentSession(
            metainfo: metainfo, storage: storage, configuration: configuration, resume: store, torrentId: record.id,
            filePriorities: priorities, order: record.downloadOrder, stopWhenComplete: stopWhenComplete,
            trackers: trackers,
            resumePolicy: resumePolicy, limits: limits, logger: logger)
    }
}
