import Foundation

/// Where a torrent stands in the queue. Stored in the database by its raw value.
public enum TorrentState: String, Sendable, Codable, CaseIterable {
    /// Waiting for a free active slot.
    case queued
    /// Its data is being hash-checked.
    case checking
    /// Fetching metadata from peers (a magnet link without its info dictionary yet).
    case fetchingMetadata = "metadata"
    /// Actively downloading.
    case downloading
    /// Complete and uploading to others.
    case seeding
    /// Stopped by the user.
    case paused
    /// Complete, not seeding.
    case completed
    /// Stopped by a fault (disk full, unwritable folder, ...); `btq resume` retries it.
    case error
}
