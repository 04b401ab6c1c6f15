import Engine
import Foundation

/// A queue record (and the queue manager's live status) as the RPC reports it.
enum RPCTorrentMapping {
    /// The info-hash Transmission's clients know a torrent by: the v1 one, else the v2 one.
    static func hash(_ record: TorrentRecord) -> String {
        record.infoHashV1 ?? record.infoHashV2 ?? ""
    }

    static func state(_ state: TorrentState) -> RPCTorrentState {
        switch state {
        case .queued: return .queued
        case .checking: return .checking
        case .fetchingMetadata: return .metadata
        case .downloading: return .downloading
        case .seeding: return .seeding
        case .paused: return .paused
        case .completed: return .completed
        case .error: return .error
        }
    }

    /// `record` as `torrent-get` reports it; `wanted` gives the wanted and verified bytes of a torrent
    /// with skipped files.
    static func torrent(_ record: TorrentRecord, wanted: (size: Int64, done: Int64)?) -> RPCTorrent {
        let hash = hash(record)
        let total = record.totalSize ?? 0
        let seconds = { (date: Date?) in date.map { Int64($0.timeIntervalSince1970) } ?? 0 }
        var torrent = RPCTorrent(
            id: record.id, hashString: hash, name: record.name, state: state(record.state), totalSize: total,
            sizeWhenDone: wanted?.size ?? total, haveValid: wanted?.done ?? record.bytesDone,
            downloadedEver: record.downloaded, uploadedEver: record.uploaded, corruptEver: record.wasted,
            addedDate: seconds(record.addedAt), downloadDir: record.saveDirectory,
            queuePosition: record.queuePosition, isPrivate: record.isPrivate, isMagnet: record.isMagnet,
            comment: record.comment ?? "", creator: record.createdBy ?? "", dateCreated: record.creationDate ?? 0,
            pieceCount: record.pieceCount ?? 0, pieceSize: record.pieceLength ?? 0, fileCount: record.fileCount,
            magnetLink: record.infoHashV1.map { "magnet:?xt=urn:btih:\($0)" }
                ?? "magnet:?xt=urn:btmh:1220\(record.infoHashV2 ?? "")")
        torrent.errorString = record.state == .error ? (record.lastError ?? "error") : nil
        torrent.startDate = seconds(record.startedAt)
        torrent.doneDate = seconds(record.completedAt)
        torrent.activityDate = max(torrent.addedDate, torrent.startDate, torrent.doneDate)
        return torrent
    }

    /// Adds what the queue manager knows of a torrent it works.
    static func apply(_ progress: QueueProgress, to torrent: inout RPCTorrent) {
        torrent.isActive = true
        torrent.activityDate = Int64(Date().timeIntervalSince1970)
        if case .fetching(let fetch?) = progress {
            // Its peers' sources are not kept by the metadata fetch: counted in no `peersFrom` bucket.
            torrent.peersConnected = fetch.peers
        }
        guard case .transferring(let status) = progress, !status.isStarting else { return }
        torrent.rateDownload = Int64(status.downloadRate)
        torrent.rateUpload = Int64(status.uploadRate)
        torrent.peersConnected = status.peers
        let counts = status.peerCounts
        torrent.peersFrom.tracker = counts.fromTracker
        torrent.peersFrom.dht = counts.fromDHT
        torrent.peersFrom.pex = counts.fromPEX
        torrent.peersFrom.lpd = counts.fromLSD
        torrent.peersFrom.incoming = counts.fromIncoming
        torrent.peersSendingToUs = counts.sendingToUs
        torrent.peersGettingFromUs = counts.gettingFromUs
        torrent.sizeWhenDone = status.bytesWanted
        torrent.haveValid = min(status.bytesDone, status.bytesWanted)
    }
}
