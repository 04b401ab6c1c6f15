/// The fields `torrent-get` knows: Transmission 3.00's names (what `transmission-remote` and its web
/// interface ask for) and the newer ones of later versions. A name it does not know is left out of the
/// answer, as Transmission does.
public enum RPCTorrentField: String, Sendable, CaseIterable {
    case activityDate, addedDate, bandwidthPriority, comment, corruptEver, creator, dateCreated
    case desiredAvailable, doneDate, downloadDir, downloadedEver, downloadLimit, downloadLimited
    case editDate, error, errorString, eta, etaIdle, fileCount = "file-count", files, fileStats, group
    case hashString, haveUnchecked, haveValid, honorsSessionLimits, id, isFinished, isPrivate, isStalled
    case labels, leftUntilDone, magnetLink, manualAnnounceTime, maxConnectedPeers
    case metadataPercentComplete, name, peerLimit = "peer-limit", peers, peersConnected, peersFrom
    case peersGettingFromUs, peersSendingToUs, percentComplete, percentDone, pieces, pieceCount, pieceSize
    case priorities, primaryMimeType = "primary-mime-type", queuePosition, rateDownload, rateUpload
    case recheckProgress, secondsDownloading, secondsSeeding, seedIdleLimit, seedIdleMode, seedRatioLimit
    case seedRatioMode, sequentialDownload, sizeWhenDone, startDate, status, trackers, trackerList
    case trackerStats, totalSize, torrentFile, uploadedEver, uploadLimit, uploadLimited, uploadRatio
    case wanted, webseeds, webseedsSendingToUs

    /// What of a torrent's files, trackers and peers the field needs (none for most).
    public var detailNeeds: RPCDetailNeeds {
        switch self {
        case .files, .fileStats, .priorities, .wanted: return .files
        case .trackers, .trackerList, .trackerStats: return .trackers
        case .peers: return .peers
        default: return []
        }
    }

    /// The fields `names` asks for, once each, in the order asked; unknown names are dropped.
    public static func parse(_ names: [String]) -> [RPCTorrentField] {
        var seen = Set<RPCTorrentField>()
        return names.compactMap { name in
            guard let field = RPCTorrentField(rawValue: name), seen.insert(field).inserted else { return nil }
            return field
        }
    }
}
